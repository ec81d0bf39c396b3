"""A short extractive answer: the few sentences of the best passages that answer
a question, each quoted verbatim from its page and numbered for citation.

No model is called: answers must appear as fast as the hits (a few ms for ten
hits), and a sentence copied from the source cannot misstate it. Sentences are
scored by the rare query stems they carry (IDF over the candidate sentences),
by carrying the evidence of a concept the query names, and a little by the rank
of their passage. Every sentence is found again in its page's clean text before
it is returned; one that cannot be found is never shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from kb.ask.search import Hit, expand_query
from kb.index import KnowledgeBase
from kb.text.analysis import terms
from kb.text.quotes import locate, quotable, sentences

TOP_HITS = 6  # answers come from the passages a reader sees first
CONCEPT_BONUS = 0.35  # relative to full coverage of the query's stems (1.0)
RANK_PRIOR = 0.15  # the best passage's edge over the last of the top hits
KEEP_RATIO = 0.4  # past the first two, a sentence must score this share of the best
MIN_RELEVANCE = 0.2  # below this (coverage plus concept bonus) a sentence only shares a common word


@dataclass(frozen=True)
class Quote:
    number: int  # 1-based, as shown "[1]"
    sentence: str  # verbatim slice of the page's clean text
    hit_rank: int
    doc_id: str
    page: int | None  # the page's number; None for a text file without pages
    page_start_offset: int  # offsets of `sentence` in that page's clean text
    page_end_offset: int
    citation: str


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    position: int  # index of the hit among the top hits
    text: str
    stems: frozenset[str]
    concept: bool  # carries evidence of a concept the query names


def extractive_answer(kb: KnowledgeBase, query: str, hits: list[Hit], *, max_sentences: int = 4) -> list[Quote]:
    """The 2–`max_sentences` sentences that best answer `query`, at most one per
    hit, most relevant first; fewer than two (or none) when the top hits hold
    too little evidence, in which case no answer should be shown."""
    if max_sentences < 1 or not hits:
        return []
    expansion = expand_query(kb, query)
    query_stems = set(terms(query)) | set(terms(expansion.lexical))
    if not query_stems and not expansion.concepts:
        return []
    top = hits[:TOP_HITS]
    every_sentence: list[frozenset[str]] = []
    candidates: list[_Candidate] = []
    for position, hit in enumerate(top):
        concept_spans = [(start, end) for concept, _, start, end, _ in kb.store.evidence(hit.chunk.id)
                         if concept in expansion.concepts] if expansion.concepts else []
        for start, end in sentences(hit.chunk.text):
            text = hit.chunk.text[start:end]
            stems = frozenset(terms(text))
            every_sentence.append(stems)
            if not quotable(text):
                continue
            concept = any(s < end and start < e for s, e in concept_spans)
            if concept or stems & query_stems:
                candidates.append(_Candidate(hit, position, text, stems, concept))
    if not candidates:
        return []

    idf = _idf(query_stems, every_sentence)
    total = sum(idf.values()) or 1.0

    def relevance(candidate: _Candidate) -> float:
        coverage = sum(idf[t] for t in candidate.stems & query_stems) / total
        return coverage + CONCEPT_BONUS * candidate.concept

    def score(candidate: _Candidate) -> float:
        return relevance(candidate) + RANK_PRIOR * (1 - candidate.position / len(top))

    candidates = [c for c in candidates if relevance(c) >= MIN_RELEVANCE]

    # The best sentence of each hit that can be found in its page.
    pages_of: dict[str, list] = {}
    chosen: list[tuple[float, Quote]] = []
    used: set[int] = set()  # positions of the hits already quoted
    seen: set[object] = set()
    for candidate in sorted(candidates, key=lambda c: (-score(c), c.position)):
        hit = candidate.hit
        if candidate.position in used:
            continue
        if hit.chunk.doc_id not in pages_of:
            pages_of[hit.chunk.doc_id] = kb.store.pages(hit.chunk.doc_id)
        pages = pages_of[hit.chunk.doc_id]
        found = locate(candidate.text, hit.chunk, pages)
        if found is None:
            continue  # never shown unless it can be pointed to in the source
        index, start, end = found
        # Overlapping passages repeat a sentence: the same words are one piece of evidence.
        keys = {(hit.chunk.doc_id, index, start), " ".join(candidate.text.split()).lower()}
        if keys & seen:
            continue
        seen |= keys
        used.add(candidate.position)
        quote = Quote(0, pages[index].text[start:end], hit.rank, hit.chunk.doc_id, pages[index].number,
                      start, end, hit.citation)
        chosen.append((score(candidate), quote))

    best = chosen[0][0] if chosen else 0.0
    kept = [quote for i, (value, quote) in enumerate(chosen) if i < 2 or value >= KEEP_RATIO * best]
    return [replace(quote, number=n) for n, quote in enumerate(kept[:max_sentences], 1)]


def _idf(query_stems: set[str], sentences: list[frozenset[str]]) -> dict[str, float]:
    """How rare each query stem is among the sentences of the top hits; a stem
    in none of them is left out, so it lowers no sentence's coverage."""
    n = len(sentences)
    df = {t: sum(t in s for s in sentences) for t in query_stems}
    return {t: math.log(1 + n / d) for t, d in df.items() if d}
