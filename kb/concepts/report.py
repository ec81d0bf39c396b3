"""What the library says about each concept: counts per document and best passages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.cite.apa import chunk_citation
from kb.concepts.taxonomy import FRAMEWORKS, Concept
from kb.index import KnowledgeBase


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    doc_id: str
    citation: str
    text: str
    evidence: tuple[str, ...]  # the words that were matched, in text order


@dataclass(frozen=True)
class ConceptReport:
    concept: Concept
    documents: dict[str, int]  # passages tagged, per document, most first
    passages: list[Passage]


def concept_matrix(kb: KnowledgeBase) -> list[dict]:
    """Every concept with the number of passages of each document tagged with it,
    grouped by framework in the taxonomy's order."""
    counts = kb.store.concept_counts()
    order = {name: i for i, name in enumerate(FRAMEWORKS)}
    concepts = sorted(kb.taxonomy, key=lambda c: (order.get(c.framework, len(order)), c.label.lower()))
    return [{"id": c.id, "label": c.label, "framework": c.framework, "documents": counts.get(c.id, {})}
            for c in concepts]


MAIN_CONCEPTS = 5  # shown per document by `kb docs` and the app's Biblioteca


def main_concepts(counts: dict[str, dict[str, int]], n: int = MAIN_CONCEPTS) -> dict[str, list[tuple[str, int]]]:
    """Each document's `n` most tagged concepts with their passage counts, from
    `Store.concept_counts()`: most passages first, ties by concept id."""
    by_document: dict[str, list[tuple[str, int]]] = {}
    for concept, documents in counts.items():
        for doc_id, count in documents.items():
            by_document.setdefault(doc_id, []).append((concept, count))
    return {doc_id: sorted(pairs, key=lambda cn: (-cn[1], cn[0]))[:n] for doc_id, pairs in by_document.items()}


def concept_report(kb: KnowledgeBase, concept_id: str, k: int = 5) -> ConceptReport:
    concept = kb.taxonomy[concept_id]
    documents = dict(sorted(kb.store.concept_counts().get(concept_id, {}).items(), key=lambda kv: (-kv[1], kv[0])))
    ids = kb.store.best_passages(concept_id, k)
    rows = kb.store.chunks(ids)
    metas = kb.store.metas(row.doc_id for row in rows.values())
    passages = []
    for row_id in ids:
        chunk = rows[row_id]
        evidence = tuple(dict.fromkeys(matched for concept, _, _, _, matched in kb.store.evidence(row_id)
                                       if concept == concept_id))
        passages.append(Passage(chunk.chunk_id, chunk.doc_id, chunk_citation(metas[chunk.doc_id], chunk),
                                chunk.text, evidence))
    return ConceptReport(concept, documents, passages)


# "¿Qué es la IAP?", "definición de distrito industrial", "what is a cluster".
_ASKS_DEFINITION = re.compile(r"^\W*(?:qu[eé] (?:es|son|significa|se entiende por)|defin[ei]|concepto de|"
                              r"what (?:is|are)|define)\b", re.IGNORECASE)


def asked_concept(kb: KnowledgeBase, query: str) -> Concept | None:
    """The concept a query is about, for its definition card: the only concept it
    names, or the first one when it asks for a definition («¿Qué es la IAP?»)."""
    tags = kb.tagger.tag(query, hint=kb.concept_totals())
    named = [kb.taxonomy[c] for c in dict.fromkeys(t.concept for t in tags) if c in kb.taxonomy]
    if len(named) == 1 or (named and _ASKS_DEFINITION.match(query)):
        return named[0]
    return None
