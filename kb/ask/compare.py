"""Comparison tables: rows are aspects, columns are documents, frameworks or concepts.

Each cell holds the best evidence of its column for its aspect: a sentence,
quoted verbatim and located in its page, from one of the column's passages
closest to the aspect's question. The sentence itself (or its section's heading)
must name the aspect (its rarest cue word, the tagger's evidence of one of its
concepts, or two commoner cues) and, in a framework or concept column, the
column's subject. A cell with no such sentence in a
passage above the cosine threshold (calibrated on judged cells, see
eval/compare.py) stays empty: "sin evidencia" is better than an unrelated quote.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from kb.cite.apa import chunk_citation, chunk_locator
from kb.index import KnowledgeBase
from kb.records import SEARCHED_KINDS, ChunkRow, Filters
from kb.text.analysis import terms
from kb.text.quotes import locate, quotable, sentences

# Cosine of kb's default model (multilingual-e5-small with kb's adapter) between the
# aspect's question and the passage a cell would quote, under which the cell stays
# empty. The adapter spreads cosines (the base model's sat at 0.8–0.9, these at
# 0.45–0.7), so the values belong to the model. eval/compare.py sweeps it over the
# judged cells of eval/compare-cells.jsonl: 0.53 shows 77 % of the cells at precision
# 0.91; 0.52, 79 % at 0.89; 0.55, 70 % at 0.90; none, 87 % at 0.82.
THRESHOLD = 0.53
FLOOR = 0.5  # passages under this cosine are never candidates
CANDIDATES = 12  # passages per cell (three times as many for a framework column)
# A cell speaks for its column: a sentence that speaks for another column too ("En
# ambos casos el sector…") is quoted only when no candidate speaks for this one alone
# (1.0 is more than any difference of cosines between candidates).
SHARED_PENALTY = 1.0
CUE_WEIGHT = 0.5  # per cue of the aspect the sentence names (a rarer word weighs more), up to two
# How much of the aspect a quoted sentence must name itself: its rarest cue (a cue
# weighs its rarity relative to the aspect's rarest), one of its concepts, or two
# commoner cues. A sentence that only follows one naming the aspect, or names only its
# commonest word ("impacto", "programas"), was irrelevant in most judged cells: at the
# threshold above, precision 0.79 at 14 % empty with any cue, 0.86 at 21 % with this.
MIN_NAMED = 0.75
FAMILY = 6  # letters two stems share when they are one word family (see _same_word)
# The sentence's value against the passage's cosine. The adapted model's cosines spread
# about five times as wide as the base model's (with which 0.03 was chosen), so a cue
# weighs more against them: 0.3 (eval/compare.py at the threshold above: 0.15 gives
# cell precision 0.77, 0.3 gives 0.79, 0.4–0.7 give 0.80 but put a sentence of the
# FOMIN table's district side in the wrong row, 4/6 against 5/6).
SENTENCE_WEIGHT = 0.3
KINDS = ("document", "framework", "concept")
EMPTY = "sin evidencia en este documento"
# A framework or concept column searches the whole library, not one document.
EMPTY_LIBRARY = "sin evidencia en la biblioteca"
# Words of an aspect's label that say nothing of what it is about: "papel del
# territorio" is about the territory, and "relación entre empresas" about firms'
# relations only in so far as it names them.
GENERIC = frozenset(terms("""papel rol función importancia relación relaciones tipo tipos forma formas aspecto
    aspectos caso casos nivel enfoque enfoques modo manera lugar cada qué cómo ocupa tienen tiene empresas
    empresa actores actor utilizan estudiar estudio entiende atribuye"""))
# Words of an aspect asking what something is; its answers rarely use them.
DEFINITION = frozenset(terms("definición define definen"))
_WORD = re.compile(r"\w+")
# "En ambos casos…", "ambas formas…": a statement about every column, not one.
BOTH = re.compile(r"\bamb[oa]s\b", re.IGNORECASE)
# "El distrito es una entidad…", "Los clusters son concentraciones…", "X se define como…":
# a copula or defining verb within the sentence's first words.
DEFINES = re.compile(r"^\W*(?:\S+\s+){1,6}?(?:es|son|se\s+definen?|se\s+entienden?|constituyen?|consisten?)\s",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    kind: str  # "document", "framework" or "concept"
    id: str  # doc_id, framework name or concept id
    label: str


def empty_text(column: Column) -> str:
    """What an empty cell of `column` says."""
    return EMPTY if column.kind == "document" else EMPTY_LIBRARY


@dataclass(frozen=True)
class Aspect:
    label: str  # shown as the row's name
    query: str = ""  # what is searched; the label when empty
    # Words or phrases, one of which a quoted sentence must contain; when empty, the
    # concepts the label names and each of its other words.
    terms: tuple[str, ...] = ()

    @property
    def question(self) -> str:
        return self.query or self.label

    @property
    def asks_definition(self) -> bool:
        """The row asks what its column is: "X es…", "X se define como…" state it."""
        return bool(set(terms(f"{self.label} {self.query}")) & DEFINITION)


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
    metas: dict = {}
    for j, (column, ranked) in enumerate(zip(columns, _candidates(kb, embedder, columns, aspects, docs,
                                                                  min(threshold, FLOOR)))):
        # Each row quotes its best candidate, so a passage fills two rows of a column only
        # when it is the best evidence of both. That best quote decides: a weaker passage
        # with a sentence naming the aspect is not evidence enough when it is all there is.
        for i, options in enumerate(ranked):
            option = options[0] if options else None
            if option is not None and option.score >= threshold:
                chunk = option.chunk
                if chunk.doc_id not in metas:
                    metas.update(kb.store.metas([chunk.doc_id]))
                table.cells[i][j] = Cell(column.id, chunk.text, option.quote.sentence, chunk.doc_id,
                                         option.quote.page, option.score, chunk.chunk_id,
                                         chunk_citation(metas[chunk.doc_id], chunk), chunk_locator(chunk))
    return table


def candidates(kb: KnowledgeBase, embedder, columns: list[Column], aspects: list[Aspect], *,
               docs: tuple[str, ...] = (), floor: float = FLOOR) -> list[list[list[Candidate]]]:
    """Every quote a cell could show, [column][aspect], best first: what eval/compare_signals.py
    measures signals of relevance on."""
    with kb.reading():
        return _candidates(kb, embedder, columns, aspects, docs, floor)


def _candidates(kb: KnowledgeBase, embedder, columns: list[Column], aspects: list[Aspect], docs: tuple[str, ...],
                floor: float) -> list[list[list[Candidate]]]:
    if not columns or not aspects:
        return [[[] for _ in aspects] for _ in columns]
    queries = embedder.encode_queries([a.question for a in aspects])
    subjects = [_subject(kb, column) for column in columns]
    cues = [_cues(kb, aspect, [s for s in subjects if s is not None]) for aspect in aspects]
    pages: dict[str, list] = {}
    out: list[list[list[Candidate]]] = []
    for j, column in enumerate(columns):
        allowed = kb.store.chunk_ids(_filters(column, docs)) if column.kind != "framework" or docs else None
        depth = CANDIDATES * (3 if column.kind == "framework" else 1)  # many close passages do not name the framework
        depth = min(depth, len(allowed) if allowed is not None else len(kb.vectors))
        if not depth:  # nothing indexed in this column (an empty library: framework columns search it all)
            out.append([[] for _ in aspects])
            continue
        scores, ids = kb.vectors.search(np.asarray(queries, np.float32), depth, allowed=allowed)
        others = [subject for k, subject in enumerate(subjects) if k != j and subject is not None]
        rows = kb.store.chunks({int(i) for i in ids.ravel() if i >= 0})
        ranked = []
        for i, (aspect_ids, aspect_scores) in enumerate(zip(ids, scores)):
            options = []
            for row_id, score in zip(aspect_ids, aspect_scores):
                if row_id < 0 or score < floor:
                    continue
                chunk = rows.get(int(row_id))
                # Gone mid-ingest (see search._ranked_hits), or not body text.
                if chunk is None or chunk.kind not in SEARCHED_KINDS:
                    continue
                doc_pages = pages.setdefault(chunk.doc_id, kb.store.pages(chunk.doc_id))
                options += [Candidate(float(score) + SENTENCE_WEIGHT * quote.value - SHARED_PENALTY * quote.shared,
                                      float(score), chunk, quote)
                            for quote in _quotes(kb, chunk, aspects[i], cues[i], subjects[j], others, doc_pages)]
            ranked.append(sorted(options, key=lambda o: -o.rank))
        out.append(ranked)
    return out


def _filters(column: Column, docs: tuple[str, ...]) -> Filters:
    if column.kind == "document":
        return Filters(doc_ids=(column.id,))
    if column.kind == "concept":
        return Filters(doc_ids=docs, tags=(column.id,))
    return Filters(doc_ids=docs)


@dataclass(frozen=True)
class CellQuote:
    sentence: str  # verbatim from the page
    page: int | None
    value: float
    shared: bool = False  # also names another column's subject


@dataclass(frozen=True)
class Candidate:
    rank: float
    score: float  # the passage's cosine, shown in the cell
    chunk: ChunkRow
    quote: CellQuote


@dataclass(frozen=True)
class _Cues:
    """What shows that a sentence speaks of an aspect: one of its cue words (every
    stem of a cue phrase present) or the tagger's evidence of one of its concepts."""

    stems: tuple[frozenset[str], ...]
    weights: tuple[float, ...]  # of each cue of `stems`: 1 for the library's rarest, less for common words
    concepts: frozenset[str]
    definition: bool = False  # the aspect asks what something is: "X es…", "X se define como…" state it

    def count(self, text: str, stems: set[str], evidence: set[str], subject_at: int = 0) -> float:
        """`subject_at`: where the sentence first names its column's subject (0 in a
        document column); a definition names what it defines before its verb."""
        copula = DEFINES.match(text) if self.definition else None
        defines = copula is not None and subject_at < copula.end()
        prefixes = {w[:FAMILY] for w in stems}
        short = [w for w in stems if len(w) < FAMILY]
        return (sum(weight for cue, weight in zip(self.stems, self.weights)
                    if all((c[:FAMILY] in prefixes if len(c) >= FAMILY else any(w.startswith(c) for w in stems))
                           or any(_same_word(c, w) for w in short) for c in cue))
                + len(self.concepts & evidence) + defines)


def _same_word(cue: str, word: str) -> bool:
    """Stems of one word family: Snowball gives "economi" for "economía" but "econom"
    for "económica", so six letters in common (or all of the shorter) are enough. A
    stem of one or two letters is no family: the "d" of "I+D" is not "débil"."""
    n = min(len(cue), len(word), FAMILY)
    return cue[:n] == word[:n] if n >= 3 else cue == word


def _cues(kb: KnowledgeBase, aspect: Aspect, subjects: list[_Subject]) -> _Cues:
    """The aspect's cues, less the columns' subjects: "¿Cómo define cada enfoque los
    clusters?" asks about definitions, and every sentence of a clúster column names clusters."""
    stems, concepts = [], set()
    if aspect.terms:
        for cue in aspect.terms:
            # A cue that names a concept is matched as the tagger matches it, so the
            # concept's exclusions apply ("intervalo de confianza" is not trust).
            whole = [t for t in kb.tagger.tag(cue) if t.start == 0 and t.end >= len(cue.rstrip(" .?"))]
            if whole:
                concepts.add(whole[0].concept)
            elif words := frozenset(terms(cue)):
                stems.append(words)
    else:
        text = f"{aspect.label}. {aspect.query}"
        tags = kb.tagger.tag(text)
        concepts = {t.concept for t in tags}
        rest = "".join(" " if any(t.start <= k < t.end for t in tags) else ch for k, ch in enumerate(text))
        stems = [frozenset({stem}) for stem in dict.fromkeys(terms(rest))
                 if len(stem) > 3 and stem not in GENERIC | DEFINITION]
    named = {c for s in subjects for c in s.concepts}
    heads = {s.head for s in subjects}
    stems = [cue for cue in stems if not cue <= heads]
    # "sector" says more of "el sector como unidad de análisis" than "análisis" does.
    total = max(kb.store.chunk_count(), 1)
    idf = [min(math.log(1 + total / max(kb.store.term_count(c[:FAMILY]), 1)) for c in cue) for cue in stems]
    top = max(idf, default=1.0) or 1.0
    return _Cues(tuple(stems), tuple(w / top for w in idf), frozenset(concepts - named), aspect.asks_definition)


@dataclass(frozen=True)
class _Subject:
    """How a sentence names a column's subject: evidence of one of its concepts
    (the tagger's spans), or its head word ("distrito", which alone is not a tag)."""

    concepts: frozenset[str]
    head: str | None

    def named_in(self, stems: set[str], evidence: set[str]) -> bool:
        return bool(self.concepts & evidence) or (self.head is not None and self.head in stems)

    def first(self, text: str, evidence: dict[str, int]) -> int:
        """Where `text` first names the subject (len(text) when it does not)."""
        at = [evidence[c] for c in self.concepts & evidence.keys()]
        if self.head is not None:
            at += [m.start() for m in _WORD.finditer(text) if terms(m.group()) == [self.head]][:1]
        return min(at, default=len(text))


def _subject(kb: KnowledgeBase, column: Column) -> _Subject | None:
    if column.kind == "document":
        return None
    if column.kind == "concept":
        return _Subject(frozenset({column.id}), None)
    head = next(iter(terms(column.id)), None)
    return _Subject(frozenset(c.id for c in kb.taxonomy if c.framework == column.id), head)


def _quotes(kb: KnowledgeBase, chunk: ChunkRow, aspect: Aspect, cues: _Cues, own: _Subject | None,
            others: list[_Subject], pages: list) -> list[CellQuote]:
    """The passage's sentences that name the aspect (and, in a framework or concept
    column, the column's subject), best first, each located in its page."""
    spans = sentences(chunk.text)
    can_quote = [quotable(chunk.text[s:e]) for s, e in spans]
    if not any(can_quote):
        return []
    evidence = kb.store.evidence(chunk.id)
    # Each concept the sentence names, with where it first does so.
    named = [{c: max(a - s, 0) for c, _, a, b, _ in sorted(evidence, key=lambda x: -x[2]) if a < e and s < b}
             for s, e in spans]
    concepts = [set(n) for n in named]
    stems = [set(terms(chunk.text[s:e])) for s, e in spans]
    quotes = []
    found = [cues.count(chunk.text[s:e], stems[k], concepts[k],
                        own.first(chunk.text[s:e], named[k]) if own and cues.definition else 0)
             for k, (s, e) in enumerate(spans)]
    # Under a heading that names the aspect ("B. Alejamiento del concepto de sector…"),
    # every sentence of the section speaks of it, as if it named one cue.
    heading = min(cues.count(chunk.section, set(terms(chunk.section)), set()), 1.0) if chunk.section else 0.0
    found = [max(f, heading) for f in found]
    for k, (start, end) in enumerate(spans):
        if not can_quote[k] or (own is not None and not own.named_in(stems[k], concepts[k])):
            continue
        # The sentence (or its heading) names the aspect itself: one following a sentence
        # that does may elaborate on it or move on, and a common word of the aspect alone
        # ("programas", "proyectos") is not what the row is about.
        if found[k] < MIN_NAMED:
            continue
        text = chunk.text[start:end]
        # "En el cluster esta relación no aparece…, como ocurre en el distrito" speaks for
        # the cluster; "En ambos casos el sector…" and a sentence naming another column
        # first speak for more than this one.
        shared = own is not None and any(
            o.named_in(stems[k], concepts[k])
            and (BOTH.search(text) is not None or o.first(text, named[k]) < own.first(text, named[k]))
            for o in others)
        # Earlier sentences state, later ones elaborate.
        value = CUE_WEIGHT * min(found[k], 2) - 0.01 * k
        located = locate(text, chunk, pages)
        if located:
            index, a, b = located
            quotes.append(CellQuote(pages[index].text[a:b], pages[index].number, value, shared))
    return sorted(quotes, key=lambda q: -q.value)
