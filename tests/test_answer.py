"""Extractive answers over the indexed bundled corpus: sentences from different
passages, each found verbatim in its page, numbered for citation."""

import time

from ingest.pipeline import ingest
from kb.ask.answer import Quote, extractive_answer
from kb.ask.search import expand_query, search
from kb.index import KnowledgeBase
from kb.text.quotes import MIN_WORDS
from tests.fakes import FAKE_MODEL, FakeEmbedder

SARAVI = "saravi-1998-distritos-mexico"
MESOESPACIO = "¿Qué es el mesoespacio?"


def _answer(kb, query, **options):
    # The fake embedder's vectors are hashed words, not meaning: the hits come from
    # BM25 alone, so what is checked here does not hang on how kb weighs the two
    # rankings for its real model.
    hits = search(kb, FakeEmbedder(), query, k=10, mode="lexical")
    return hits, extractive_answer(kb, query, hits, **options)


def _page_text(kb, quote: Quote) -> str:
    return next(p.text for p in kb.store.pages(quote.doc_id) if p.number == quote.page)


def test_mesoespacio_answer_quotes_different_passages_verbatim(indexed):
    hits, answer = _answer(indexed, MESOESPACIO)
    assert 2 <= len(answer) <= 4
    assert [q.number for q in answer] == list(range(1, len(answer) + 1))
    assert len({q.hit_rank for q in answer}) == len(answer)  # at most one sentence per passage
    assert answer[0].doc_id == SARAVI
    by_rank = {h.rank: h for h in hits}
    for quote in answer:
        text = _page_text(indexed, quote)
        assert text[quote.page_start_offset:quote.page_end_offset] == quote.sentence
        hit = by_rank[quote.hit_rank]
        assert quote.doc_id == hit.chunk.doc_id and quote.citation == hit.citation
        assert " ".join(quote.sentence.split()) in " ".join(hit.chunk.text.split())
        assert len(quote.sentence.split()) >= MIN_WORDS
    assert "mesoespacio" in answer[0].sentence.lower()


def test_a_text_file_without_form_feeds_has_one_page_without_number(indexed):
    _, answer = _answer(indexed, MESOESPACIO)
    assert all(q.page is None for q in answer if q.doc_id == SARAVI)
    assert len(indexed.store.pages(SARAVI)) == 1


def test_query_without_overlap_gives_no_answer(indexed):
    _, answer = _answer(indexed, "xyzzy plutonio quásar")
    assert answer == []
    assert extractive_answer(indexed, MESOESPACIO, []) == []


def test_max_sentences_and_numbering(indexed):
    _, answer = _answer(indexed, "políticas públicas para mipymes en Chile", max_sentences=3)
    assert 2 <= len(answer) <= 3
    assert [q.number for q in answer] == list(range(1, len(answer) + 1))
    _, one = _answer(indexed, "políticas públicas para mipymes en Chile", max_sentences=1)
    assert len(one) == 1 and one[0].sentence == answer[0].sentence


def test_acronym_query_prefers_the_sentence_with_the_concept(indexed):
    _, answer = _answer(indexed, "IAP")
    meant = set(expand_query(indexed, "IAP").concepts)  # the sense the library uses most
    # The acronym or the concept's name ("iniciativas de articulación productiva").
    assert answer and meant & {tag.concept for tag in indexed.tagger.tag(answer[0].sentence)}


def test_sentence_that_cannot_be_located_is_dropped(indexed, monkeypatch):
    hits, answer = _answer(indexed, MESOESPACIO)
    first = answer[0]
    real_pages = indexed.store.pages

    def pages_without_first(doc_id):
        pages = real_pages(doc_id)
        if doc_id == first.doc_id:
            for page in pages:
                page.text = page.text.replace(first.sentence, "")
        return pages

    monkeypatch.setattr(indexed.store, "pages", pages_without_first)
    again = extractive_answer(indexed, MESOESPACIO, hits)
    assert all(q.sentence != first.sentence for q in again)
    for quote in again:
        text = _page_text(indexed, quote).replace(first.sentence, "")
        assert text[quote.page_start_offset:quote.page_end_offset] == quote.sentence


def test_whitespace_differences_are_located_in_the_page_text(indexed, monkeypatch):
    hits, answer = _answer(indexed, MESOESPACIO)
    first = answer[0]
    real_pages = indexed.store.pages
    spaced = first.sentence.replace(" ", "\n", 3)

    def pages_with_other_whitespace(doc_id):
        pages = real_pages(doc_id)
        if doc_id == first.doc_id:
            for page in pages:
                page.text = page.text.replace(first.sentence, spaced)
        return pages

    monkeypatch.setattr(indexed.store, "pages", pages_with_other_whitespace)
    again = extractive_answer(indexed, MESOESPACIO, hits)
    assert again[0].sentence == spaced  # the page's own text, not the chunk's
    text = _page_text(indexed, again[0]).replace(first.sentence, spaced)
    assert text[again[0].page_start_offset:again[0].page_end_offset] == spaced


def test_answer_is_fast(indexed):
    hits = search(indexed, FakeEmbedder(), MESOESPACIO, k=10)
    extractive_answer(indexed, MESOESPACIO, hits)  # warm caches (tagger, stemmer)
    start = time.perf_counter()
    for _ in range(5):
        extractive_answer(indexed, MESOESPACIO, hits)
    assert (time.perf_counter() - start) / 5 < 0.03


def _answer_over_one_file(tmp_path, text: str, query: str) -> list[Quote]:
    """The answer to `query` over an index holding one text file."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "informe.txt").write_text(text, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "idx", FAKE_MODEL)
    try:
        ingest(kb, FakeEmbedder(), [folder])
        return extractive_answer(kb, query, search(kb, FakeEmbedder(), query, k=5))
    finally:
        kb.close()


def test_figure_captions_are_not_quoted(tmp_path):
    answer = _answer_over_one_file(
        tmp_path,
        "Gráfico 7: Iniciativas de articulación productiva registradas en la plataforma, por sector, 2025.\n\n"
        "Las iniciativas de articulación productiva registradas en la plataforma crecieron en Chile.\n\n"
        "Fuente: plataforma de iniciativas de articulación productiva registradas, 2025.\n\n"
        "Muchas iniciativas de articulación productiva registradas combinan empresas e instituciones locales.",
        "iniciativas de articulación productiva registradas en la plataforma")
    assert answer and answer[0].sentence.startswith("Las iniciativas")
    assert not any(q.sentence.startswith(("Gráfico", "Fuente")) for q in answer)


def test_text_glued_across_a_footnote_is_not_quoted(tmp_path):
    answer = _answer_over_one_file(
        tmp_path,
        "Son conocidos los trabajos sobre el distrito industrial de Prato en Italia. de transformación "
        "productiva que los empresarios locales consideran prioritarias para el distrito industrial.\n\n"
        "El distrito industrial de Prato combina cooperación y competencia entre empresas locales.",
        "distrito industrial de Prato")
    assert [q.sentence for q in answer] == [
        "El distrito industrial de Prato combina cooperación y competencia entre empresas locales."]


def test_footnotes_are_not_quoted(tmp_path):
    """The comparison tables' rule: a footnote states nothing the passage says."""
    answer = _answer_over_one_file(
        tmp_path,
        "El distrito de Prato combina cooperación y competencia entre las empresas locales.\n\n"
        "1 Sobre el distrito industrial textil de Prato véanse los trabajos de Becattini y Dei Ottati.",
        "distrito industrial textil de Prato")
    assert [q.sentence for q in answer] == [
        "El distrito de Prato combina cooperación y competencia entre las empresas locales."]
