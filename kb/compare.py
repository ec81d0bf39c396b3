"""Comparison tables: rows are aspects, columns are documents, frameworks or concepts.

Each cell holds the best evidence of its column for its aspect: the passage
closest to the aspect's question among the column's passages, and the key
sentence of that passage, quoted verbatim and located in its page. A cell
whose best passage scores under a threshold (calibrated on judged cells, see
eval/compare.py) stays empty: "sin evidencia" is better than an unrelated quote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kb.analysis import terms
from kb.citations import locator, short_citation
from kb.index import KnowledgeBase
from kb.quotes import COMPLETE, FOOTNOTE, locate, sentences
from kb.store import Filters

# Cosine of multilingual-e5-small between the aspect's question and the passage.
# On the 70 judged cells of eval/compare-cells.jsonl (eval/compare.py prints the
# sweep): 0.80 shows every cell at precision 0.40; 0.85 leaves 36 % empty at 0.51;
# 0.86, 71 % empty at 0.65. The cosine separates relevant cells poorly.
THRESHOLD = 0.85
CANDIDATES = 8  # per cell, before choosing one that no other row of the column uses
COLUMN_BONUS = 0.5  # a key sentence that names its column's subject and no other column's
OTHER_PENALTY = 0.5  # one that names another column's subject only
UNSPECIFIC_PENALTY = 0.25  # one that names both, or neither
MIN_WORDS, MAX_WORDS = 5, 80  # a quotable sentence: not a heading, not a flattened list
SENTENCE_WEIGHT = 0.05
KINDS = ("document", "framework", "concept")
EMPTY = "sin evidencia en este documento"


@dataclass(frozen=True)
class Column:
    kind: str  # "document", "framework" or "concept"
    id: str  # doc_id, framework name or concept id
    label: str


@dataclass(frozen=True)
class Aspect:
    label: str  # shown as the row's name
    query: str = ""  # what is searched; the label when empty

    @property
    def question(self) -> str:
        return self.query or self.label


@dataclass(frozen=True)
class Cell:
    column: str
    text: str  # the whole passage
    sentence: str  # the key sentence, verbatim from the page
    doc_id: str
    page: int | None
    score: float
    chunk_id: str
    citation: str
    locator: str  # "p. 4", "párrs. 12–13": what an in-text citation points to


@dataclass
class Table:
    columns: list[Column]
    aspects: list[Aspect]
    cells: list[list[Cell | None]] = field(default_factory=list)  # [row][column]

    def to_json(self) -> dict:
        return {
            "columns": [{"kind": c.kind, "id": c.id, "label": c.label} for c in self.columns],
            "rows": [{"aspect": aspect.label, "cells": [None if cell is None else {
                "column": cell.column, "text": cell.text, "sentence": cell.sentence, "doc_id": cell.doc_id,
                "page": cell.page, "score": round(cell.score, 4), "citation": cell.citation,
            } for cell in row]} for aspect, row in zip(self.aspects, self.cells)],
        }


def columns_for(kb: KnowledgeBase, kind: str, ids: list[str]) -> list[Column]:
    """Columns of one kind, with the labels users see; unknown ids raise ValueError in Spanish."""
    if kind == "document":
        known = {d.doc_id: d.meta.title or d.doc_id for d in kb.store.documents()}
        what = "documento"
    elif kind == "framework":
        known = {c.framework: c.framework for c in kb.taxonomy}
        what = "marco"
    elif kind == "concept":
        known = {c.id: c.label for c in kb.taxonomy}
        what = "concepto"
    else:
        raise ValueError(f"tipo de columna desconocido: {kind}")
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"{what} desconocido: {', '.join(unknown)} (disponibles: {', '.join(sorted(known))})")
    return [Column(kind, i, known[i]) for i in ids]


def compare(kb: KnowledgeBase, embedder, columns: list[Column], aspects: list[Aspect], *,
            docs: tuple[str, ...] = (), threshold: float = THRESHOLD) -> Table:
    """The table; `docs` restricts framework and concept columns to those documents."""
    # One snapshot for the whole table: every cell quotes the same state of the
    # library, and each vector hit is a chunk of it (see KnowledgeBase.reading).
    with kb.reading():
        return _compare(kb, embedder, columns, aspects, docs, threshold)


def _compare(kb: KnowledgeBase, embedder, columns: list[Column], aspects: list[Aspect], docs: tuple[str, ...],
             threshold: float) -> Table:
    table = Table(columns, aspects, [[None] * len(columns) for _ in aspects])
    if not columns or not aspects:
        return table
    queries = embedder.encode_queries([a.question for a in aspects])
    subjects = [_subject(kb, column) for column in columns]
    pages: dict[str, list] = {}
    metas: dict = {}
    for j, column in enumerate(columns):
        allowed = kb.store.chunk_ids(_filters(column, docs)) if column.kind != "framework" or docs else None
        if allowed is not None and not allowed:
            continue
        framework = column.kind == "framework"
        depth = CANDIDATES * (3 if framework else 1)  # many close passages do not name the framework
        scores, ids = kb.vectors.search(np.asarray(queries, np.float32),
                                        min(depth, len(allowed) if allowed is not None else len(kb.vectors)),
                                        allowed=allowed)
        others = [subject for k, subject in enumerate(subjects) if k != j and subject is not None]
        rows = kb.store.chunks({int(i) for i in ids.ravel() if i >= 0})
        ranked = []
        for i, (row_ids, row_scores) in enumerate(zip(ids, scores)):
            options = []
            for chunk_id, score in zip(row_ids, row_scores):
                if chunk_id < 0 or score < threshold:
                    continue
                chunk = rows.get(int(chunk_id))
                if chunk is None:  # gone mid-ingest: see search._ranked_hits
                    continue
                doc_pages = pages.setdefault(chunk.doc_id, kb.store.pages(chunk.doc_id))
                key = _key_sentence(kb, chunk, aspects[i], subjects[j], others, doc_pages)
                if key is None:
                    continue
                # A framework's column quotes sentences that name it: its concepts, its
                # authors, or its head word ("el distrito…", which alone is not a tag).
                if framework and not key[3]:
                    continue
                # The passage's best sentence decides between passages the model finds
                # equally close: it must state this aspect and name this column's subject.
                options.append((float(score) + SENTENCE_WEIGHT * key[2], chunk, float(score), key))
            ranked.append(sorted(options, key=lambda o: -o[0])[:CANDIDATES])
        for i, choice in enumerate(_assign(ranked)):
            if choice is not None:
                _, chunk, score, (sentence, page, _, _) = choice
                if chunk.doc_id not in metas:
                    metas.update(kb.store.metas([chunk.doc_id]))
                where = locator(chunk.page_start, chunk.page_end, chunk.paragraph_start, chunk.paragraph_end)
                table.cells[i][j] = Cell(column.id, chunk.text, sentence, chunk.doc_id, page, score, chunk.chunk_id,
                                         short_citation(metas[chunk.doc_id], chunk.doc_id, where), where)
    return table


def _filters(column: Column, docs: tuple[str, ...]) -> Filters:
    if column.kind == "document":
        return Filters(doc_ids=(column.id,))
    if column.kind == "concept":
        return Filters(doc_ids=docs, tags=(column.id,))
    return Filters(doc_ids=docs)


def _assign(ranked: list[list[tuple]]) -> list[tuple | None]:
    """One passage per row, best scores first, each passage in one row only; a row
    whose candidates are all taken reuses its best one rather than stay empty."""
    chosen: list[tuple | None] = [None] * len(ranked)
    used: set[int] = set()
    for _, row, option in sorted(((o[0], r, o) for r, options in enumerate(ranked) for o in options),
                                 key=lambda item: -item[0]):
        if chosen[row] is None and option[1].id not in used:
            chosen[row] = option
            used.add(option[1].id)
    return [choice or (options[0] if options else None) for choice, options in zip(chosen, ranked)]


@dataclass(frozen=True)
class _Subject:
    """How a sentence names a column's subject: evidence of one of its concepts
    (the tagger's spans), or its head word ("distrito", which alone is not a tag)."""

    concepts: frozenset[str]
    head: str | None

    def named_in(self, stems: set[str], evidence: set[str]) -> bool:
        return bool(self.concepts & evidence) or (self.head is not None and self.head in stems)


def _subject(kb: KnowledgeBase, column: Column) -> _Subject | None:
    if column.kind == "document":
        return None
    if column.kind == "concept":
        return _Subject(frozenset({column.id}), None)
    head = next(iter(terms(column.id)), None)
    return _Subject(frozenset(c.id for c in kb.taxonomy if c.framework == column.id), head)


def _key_sentence(kb: KnowledgeBase, chunk, aspect: Aspect, own: _Subject | None, others: list[_Subject],
                  pages: list) -> tuple[str, int | None, float, bool] | None:
    """(sentence, page, value, names the subject): the passage's sentence that best
    states the aspect for this column, located in its page."""
    spans = [(s, e) for s, e in sentences(chunk.text)
             if MIN_WORDS <= len(chunk.text[s:e].split()) <= MAX_WORDS and not FOOTNOTE.match(chunk.text[s:e])]
    if not spans:
        return None
    evidence = kb.store.evidence(chunk.id) if own is not None else []
    concepts = [{c for c, _, a, b, _ in evidence if a < e and s < b} for s, e in spans]
    # Words naming another column's subject do not make a sentence relevant to this one.
    query = set(terms(aspect.question)) - {o.head for o in others}
    stems = [set(terms(chunk.text[s:e])) for s, e in spans]
    df = {t: sum(t in s for s in stems) for t in query}
    idf = {t: math.log(1 + len(spans) / d) for t, d in df.items() if d}
    names_own = [own is not None and own.named_in(stems[k], concepts[k]) for k in range(len(spans))]

    def value(k: int) -> float:
        overlap = sum(idf.get(t, 0.0) for t in stems[k] & query) / (sum(idf.values()) or 1.0)
        subject = 0.0
        if own is not None:
            other = any(o.named_in(stems[k], concepts[k]) for o in others)
            # A cell speaks for its column: a sentence about both subjects, or neither, is a weaker quote.
            subject = COLUMN_BONUS if names_own[k] and not other else (
                -OTHER_PENALTY if other and not names_own[k] else -UNSPECIFIC_PENALTY)
        complete = 0.1 * bool(COMPLETE.search(chunk.text[spans[k][0]:spans[k][1]]))
        return overlap + subject + complete - 0.01 * k  # earlier sentences state, later ones elaborate

    for k in sorted(range(len(spans)), key=lambda k: -value(k)):
        start, end = spans[k]
        found = locate(chunk.text[start:end], chunk, pages)
        if found:
            index, a, b = found
            return pages[index].text[a:b], pages[index].number, value(k), names_own[k]
    return None
