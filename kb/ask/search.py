"""Hybrid search: BM25 over Spanish-analysed text plus dense vectors, fused by rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.cite.apa import chunk_citation
from kb.index import KnowledgeBase
from kb.records import ChunkRow, DocumentMeta, Filters
from kb.text.analysis import fts_query, is_english, terms

MODES = ("hybrid", "lexical", "dense")
# BM25's share in the fused score. Chosen with eval/fusion.py on eval/dev.jsonl
# (178 questions in five styles, real PDFs as distractors) as the rule whose
# worst style is best, then the best overall: with kb's adapted model, a convex
# combination with a share of 0.2-0.35 loses on no style to the better single
# retriever (hit@1 0.753-0.764; 0.753 at 0.3), once English questions, which
# share no words with Spanish passages, lean on the vectors. The share
# belongs to the model: with the base model it was 0.55 (hit@1 0.680), which with
# the first adapter left paraphrases 0.057 below the vectors alone (hit@1 0.713
# against 0.736 at 0.3). Rank fusion (RRF, k 10-60, any weights) loses 0.04-0.24
# hit@1 on some style; weighting by the rarity of the query's terms loses up to 0.2
# or, where it loses none, is no better than the plain share.
LEXICAL_SHARE = 0.3
ENGLISH_LEXICAL_SHARE = 0.1
CANDIDATES = 50  # per retriever, before fusion


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: ChunkRow
    meta: DocumentMeta
    citation: str
    tags: tuple[str, ...] = ()  # concept ids, the most mentioned first


@dataclass(frozen=True)
class Expansion:
    """The query as BM25 sees it, after the concepts it names are recognised."""

    lexical: str
    concepts: tuple[str, ...]


def expand_query(kb: KnowledgeBase, query: str) -> Expansion:
    """Add the canonical names of the concepts a query names by acronym, alias or
    misspelling, so "IAP" also finds "iniciativas de articulación productiva" and
    "Becatini" finds "Becattini". An acronym the query leaves ambiguous goes to
    the sense the library uses most.

    Only the lexical query is expanded: on eval/dev.jsonl, expanding the dense
    query too lowered its hit@1 from 0.544 to 0.509 (the model already places
    "IAP" near its meaning; appended names pull the query off its question)."""
    tags = kb.tagger.tag(query, hint=kb.concept_totals())
    concepts = tuple(dict.fromkeys(t.concept for t in tags))
    extra = []
    for concept_id in dict.fromkeys(t.concept for t in tags if t.kind != "exact"):
        concept = kb.taxonomy[concept_id]
        extra += [concept.label, *(a for a in concept.aliases if a.isupper())]
        if concept.is_person:
            extra += list(concept.authors)
    added = " ".join(dict.fromkeys(extra))
    return Expansion(f"{query} {added}".strip(), concepts)


def lexical_share(query: str) -> float:
    """BM25's share in the fused score of `query`."""
    return ENGLISH_LEXICAL_SHARE if is_english(query) else LEXICAL_SHARE


def fuse(lexical: list[tuple[int, float]], dense: list[tuple[int, float]], share: float) -> list[tuple[int, float]]:
    """Convex combination of each ranking's scores scaled to 0..1 (min-max over its
    candidates): share * BM25 + (1 - share) * cosine, 0 where a retriever missed
    the passage. Scores, not ranks: a passage far ahead in BM25 (a name, a copied
    phrase) stays ahead, which rank fusion flattens."""
    def scaled(ranking: list[tuple[int, float]]) -> dict[int, float]:
        if not ranking:
            return {}
        low, high = min(s for _, s in ranking), max(s for _, s in ranking)
        return {i: (s - low) / (high - low) if high > low else 1.0 for i, s in ranking}

    a, b = scaled(lexical), scaled(dense)
    scores = {i: share * a.get(i, 0.0) + (1 - share) * b.get(i, 0.0) for i in a.keys() | b.keys()}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def lexical_ranking(kb: KnowledgeBase, query: str, limit: int, filters: Filters | None) -> list[tuple[int, float]]:
    sparse = kb.sparse_lexical()
    if sparse is not None:  # a large library: FTS5 would score every chunk with a common term
        allowed = kb.store.chunk_ids(filters) if filters else None
        return sparse.search(terms(query), limit, allowed) if allowed is None or allowed else []
    match = fts_query(query)
    return kb.store.lexical(match, limit, filters) if match else []


def dense_ranking(kb: KnowledgeBase, query_vector: np.ndarray, limit: int,
                  filters: Filters | None) -> list[tuple[int, float]]:
    allowed = kb.store.chunk_ids(filters) if filters else None
    if allowed is not None and not allowed:
        return []
    scores, ids = kb.vectors.search(query_vector[None, :], limit, allowed=allowed)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def search(kb: KnowledgeBase, embedder, query: str, *, k: int = 10, filters: Filters | None = None,
           mode: str = "hybrid", query_vector: np.ndarray | None = None, expand: bool = True,
           every_kind: bool = False) -> list[Hit]:
    """The `k` best passages for `query`, each with its citation and concept tags
    (`query_vector`: the query already encoded, when callers batch the encoding).
    Only body text is searched unless `every_kind`: reference lists, indexes, front
    matter and unreadable OCR stay stored but out of the results."""
    if mode not in MODES:
        raise ValueError(f"modo de búsqueda desconocido: {mode}")
    vector = None
    if mode in ("hybrid", "dense"):
        vector = query_vector if query_vector is not None else embedder.encode_queries([query])[0]
    with kb.reading():
        return _ranked_hits(kb, query, k, filters, mode, vector, expand, every_kind)


def _ranked_hits(kb: KnowledgeBase, query: str, k: int, filters: Filters | None, mode: str,
                 vector: np.ndarray | None, expand: bool, every_kind: bool) -> list[Hit]:
    expansion = expand_query(kb, query) if expand else Expansion(query, ())
    limit = max(CANDIDATES, k)
    rankings = []
    if mode in ("hybrid", "lexical"):
        rankings.append(lexical_ranking(kb, expansion.lexical, limit, filters))
    if mode in ("hybrid", "dense"):
        assert vector is not None  # search() encodes the query for these modes
        rankings.append(dense_ranking(kb, vector, limit, filters))
    if not every_kind:
        hidden = kb.store.not_searched({i for ranking in rankings for i, _ in ranking})
        rankings = [[(i, s) for i, s in ranking if i not in hidden] for ranking in rankings]
    if mode == "hybrid":
        scored = fuse(rankings[0], rankings[1], lexical_share(query))
    else:
        scored = rankings[0]
    top = scored[:k]
    rows = kb.store.chunks(i for i, _ in top)
    # Within reading() every id is a chunk of the snapshot, except in the instant
    # after an ingest in this same process commits a document and before it updates
    # its vectors; a vector hit on a chunk that is gone is skipped, not shown.
    top = [(row_id, score) for row_id, score in top if row_id in rows]
    metas = kb.store.metas(row.doc_id for row in rows.values())
    tags = kb.store.tags_of(rows)
    hits = []
    for rank, (row_id, score) in enumerate(top, 1):
        chunk = rows[row_id]
        meta = metas[chunk.doc_id]
        hits.append(Hit(rank, score, chunk, meta, chunk_citation(meta, chunk), tuple(tags[row_id])))
    return hits
