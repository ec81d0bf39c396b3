"""Property tests: cleaning, chunking and tagging over arbitrary Unicode, and
ingest of truncated and random-byte PDFs.

Each property is something a user relies on: nothing crashes, every quote can
be found again at its locator, no text silently disappears, and a broken file
fails alone with one Spanish line naming it.
"""

from __future__ import annotations

import random
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.chunk import chunk_pages
from ingest.clean import LIGATURES, clean_pages
from kb.concepts.tagger import Tagger
from kb.concepts.taxonomy import load_taxonomy
from kb.records import CleanPage, Page

REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------
# Text strategies
# --------------------------------------------------------------------------

# Lone surrogates are left out: neither PyMuPDF nor a UTF-8 file can produce them.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)

# What PDF extraction really emits, in bulk: accents, ligatures, soft and hard
# hyphens at line ends, form feeds and other line breaks, controls, combining
# marks, zero-width and bidi marks, RTL script, emoji, odd spaces.
SPECIALS = [
    *LIGATURES, "\u00ad", "-", "\u2010", "\u2011", "–", "—", "\f", "\v", "\r", "\r\n", "\x85", "\u2028",
    "\u2029", "\x00", "\x07", "\x1b", "\x1c", "\t", "\u00a0", "\u2009", "\u200b", "\u200d", "\ufeff",
    "\u200f", "\u202e", "\u0301", "\u0308", "\u0327", "مرحبا", "שלום", "😀", "👩\u200d🔬", "\ufffd",
    "\ue000", "…", "....", "•", "«", "»", "¿", "¡", "ª", "º", "½", "№",
]
WORDS = [
    "el", "la", "de", "los", "desarrollo", "económico", "local", "institucio", "nal", "coope", "ración",
    "Clúster", "clústeres", "distrito", "industrial", "Becattini", "capital", "social", "IAP", "I.A.P.",
    "Meyer", "Stamer", "ISSN", "2590-7441", "Página", "12", "iv", "RESUMEN", "1.", "Introducción",
    "p.", "Sr.", "etc.", "et", "al.", "Fals", "Borda", "asociatividad", "mipymes", "OVOP",
    "a" * 300, "Ñandú", "ÁRBOL", "x",
]
TOKENS = st.one_of(st.sampled_from(WORDS), st.sampled_from(SPECIALS), st.text(max_size=8))
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", "\n\n\n", ". ", ".\n", "-\n", "\u00ad\n", ", ", "  "])


@st.composite
def prose(draw, max_tokens: int = 120) -> str:
    """Text built from words, specials and separators: far likelier than pure
    random Unicode to reach the hyphenation, heading and sentence rules."""
    n = draw(st.integers(0, max_tokens))
    parts = []
    for _ in range(n):
        parts.append(draw(TOKENS))
        parts.append(draw(SEPARATORS))
    return "".join(parts)


PAGE_TEXT = st.one_of(ANY_TEXT, prose())
PAGES = st.lists(PAGE_TEXT, min_size=1, max_size=6)


def make_pages(texts: list[str]) -> list[Page]:
    return [Page(number=i, text=t, label=f"p{i}" if i % 2 else None) for i, t in enumerate(texts, 1)]


def visible(text: str) -> Counter:
    """Visible characters, decomposed (letters and accents apart); hyphens left out."""
    return Counter(ch for ch in unicodedata.normalize("NFD", text)
                   if not ch.isspace() and ch != "-" and unicodedata.category(ch) not in ("Cc", "Cf"))


# --------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------


@FAST
@given(PAGES)
@example(["ﬁ\u0301esta\n"])  # a ligature before a combining accent: "fí", composed
@example(["e\u200b\u0301"])  # a zero-width space removed between a letter and its accent
def test_cleaning_never_raises_and_keeps_its_promises(texts):
    pages = make_pages(texts)
    cleaned = clean_pages(pages)

    assert [(c.number, c.label, c.raw) for c in cleaned] == [(p.number, p.label, p.text) for p in pages]
    for page in cleaned:
        assert page.status in ("ok", "empty", "junk")
        if page.status != "ok":
            assert page.text == ""
        text = page.text
        # Paragraphs apart by one blank line, none inside; one kind of space; no edges.
        assert text == text.strip()
        assert "\n\n\n" not in text and "  " not in text
        assert all(p and "\n" not in p and p == p.strip() for p in text.split("\n\n")) or not text
        assert all(ch in " \n" or not ch.isspace() for ch in text)
        # No controls, format characters, soft hyphens or ligatures survive, and
        # the text is NFC (what the lexical index and the highlighter compare against).
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n" for ch in text)
        assert not set(text) & set(LIGATURES)
        assert text == unicodedata.normalize("NFC", text)
        # Cleaning removes and rejoins, it never invents: every visible character
        # comes from the page (ligatures expanded), apart from hyphens.
        raw = page.raw
        for ligature, letters in LIGATURES.items():
            raw = raw.replace(ligature, letters)
        assert not visible(text) - visible(raw)


def test_a_text_file_page_without_number_stays_unnumbered():
    [page] = clean_pages([Page(number=None, text="Hola mundo.\fAdiós.")])
    assert page.number is None and page.text


# --------------------------------------------------------------------------
# Chunking
# --------------------------------------------------------------------------


def located_text(chunk, by_number: dict[int, CleanPage]) -> str:
    """The chunk's text read back from its locator, as chunk.py documents it: a
    slice of one page, or the pages it crosses joined by a blank line."""
    first, last = by_number[chunk.page_start], by_number[chunk.page_end]
    if chunk.page_start == chunk.page_end:
        return first.text[chunk.start:chunk.end]
    middle = [p.text for n, p in by_number.items()
              if chunk.page_start < n < chunk.page_end and p.status == "ok" and p.text.strip()]
    parts = [first.text[chunk.start:], *middle, last.text[:chunk.end]]
    return "\n\n".join(part.strip() for part in parts)


def check_chunks(pages: list[CleanPage], min_words: int, max_words: int) -> None:
    chunks = chunk_pages("doc", pages, min_words=min_words, max_words=max_words)
    by_number = {p.number: p for p in pages}
    covered = {p.number: [False] * len(p.text) for p in pages}
    for ordinal, chunk in enumerate(chunks, 1):
        assert chunk.ordinal == ordinal
        assert chunk.text.strip() and chunk.text == chunk.text.strip()
        assert chunk.words <= max_words
        assert chunk.page_start <= chunk.page_end
        first, last = by_number[chunk.page_start], by_number[chunk.page_end]
        assert first.status == "ok" and last.status == "ok"
        assert 0 <= chunk.start < len(first.text) and 0 < chunk.end <= len(last.text)
        assert located_text(chunk, by_number) == chunk.text
        for number in by_number:
            if chunk.page_start <= number <= chunk.page_end:
                lo = chunk.start if number == chunk.page_start else 0
                hi = chunk.end if number == chunk.page_end else len(by_number[number].text)
                covered[number][lo:hi] = [True] * (hi - lo)
        assert chunk.paragraph_start <= chunk.paragraph_end
    # No text lost between chunks: every visible character of a usable page is in one.
    for page in pages:
        if page.status == "ok":
            lost = "".join(ch for ch, hit in zip(page.text, covered[page.number]) if not hit)
            assert not lost.strip(), f"página {page.number}: texto perdido {lost!r}"
    # Ids are deterministic and unique.
    again = chunk_pages("doc", pages, min_words=min_words, max_words=max_words)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    assert len({c.chunk_id for c in chunks}) == len(chunks)


BUDGETS = st.tuples(st.integers(1, 60), st.integers(0, 100)).map(
    lambda t: (t[0], t[0] + t[1]))  # min_words <= max_words


@FAST
@given(PAGES, BUDGETS)
def test_chunks_of_cleaned_pages_point_into_them_and_lose_nothing(texts, budget):
    check_chunks(clean_pages(make_pages(texts)), *budget)


@FAST
@given(st.lists(st.tuples(PAGE_TEXT, st.sampled_from(["ok", "ok", "empty", "junk"])), min_size=1, max_size=5),
       BUDGETS)
# A budget of one word: "0 0" is two chunks, neither empty nor repeated.
@example(pages=[("0 0", "ok")], budget=(1, 1))
def test_chunks_of_raw_page_text_point_into_it_and_lose_nothing(pages, budget):
    # chunk_pages' contract holds for any page text, not only what clean_pages returns.
    clean = [CleanPage(number=i, label=None, raw=t, text=t.strip() if s == "ok" else "", status=s)
             for i, (t, s) in enumerate(pages, 1)]
    check_chunks(clean, *budget)


def test_defaults_chunk_a_long_cleaned_document():
    rng = random.Random(7)
    texts = [" ".join(rng.choice(WORDS[:20]) + rng.choice(["", ".", ","]) for _ in range(400)) for _ in range(3)]
    check_chunks(clean_pages(make_pages(texts)), 50, 250)


# --------------------------------------------------------------------------
# Tagging
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tagger():
    return Tagger(load_taxonomy())


def concept_text() -> st.SearchStrategy[str]:
    """Prose salted with the bundled concepts' names, aliases and acronyms."""
    taxonomy = load_taxonomy()
    names = sorted({form for c in taxonomy for form in (c.label, *c.aliases, *c.context)})
    # Names as extraction damages them: split at a line end, glued, capitalised.
    damaged = st.sampled_from(names).flatmap(lambda n: st.sampled_from(
        [n, n.upper(), n.replace(" ", ""), n[: len(n) // 2] + "-\n" + n[len(n) // 2:],
         n[: len(n) // 2] + " " + n[len(n) // 2:], n + "es"]))
    token = st.one_of(damaged, TOKENS)
    return st.lists(st.tuples(token, SEPARATORS), max_size=60).map(lambda ps: "".join(a + b for a, b in ps))


TAG_KINDS = {"exact", "alias", "author", "fuzzy"}


def check_tags(text: str, tags, concept_ids: set[str]) -> None:
    for tag in tags:
        assert 0 <= tag.start < tag.end <= len(text)
        # The evidence is the passage's own text at the tag's offsets.
        assert text[tag.start:tag.end] == tag.matched
        assert tag.kind in TAG_KINDS and tag.concept in concept_ids


@FAST
@given(st.one_of(ANY_TEXT, concept_text()))
@example("I.A.P. y IAP en la investigación-acción participativa")
@example("ﬁ\u0301" * 3 + " clúste- res")
def test_tags_point_at_their_evidence(tagger, text):
    check_tags(text, tagger.tag(text), {c.id for c in tagger.taxonomy})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(ANY_TEXT, concept_text()), max_size=5))
def test_document_tags_point_at_their_evidence(tagger, texts):
    tagged = tagger.tag_document(texts)
    assert len(tagged) == len(texts)
    ids = {c.id for c in tagger.taxonomy}
    for text, tags in zip(texts, tagged):
        check_tags(text, tags, ids)


# --------------------------------------------------------------------------
# Broken PDFs through the whole ingest
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """An index already holding a document, to show that broken files leave it intact."""
    from ingest.pipeline import ingest
    from kb import config
    from kb.index import KnowledgeBase
    from tests.fakes import FAKE_MODEL, FakeEmbedder

    base = tmp_path_factory.mktemp("fuzzkb")
    source = base / "saravi-1998-distritos-mexico.txt"
    source.write_bytes((config.bundled_corpus_dir() / source.name).read_bytes())
    kb = KnowledgeBase(base / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), [source])
    yield kb
    kb.close()


def snapshot(kb) -> dict:
    return {d.doc_id: kb.store.chunk_texts(d.doc_id) for d in kb.store.documents()}


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    """A small text PDF of several pages with a running header, made on the spot."""
    import pymupdf

    doc = pymupdf.open()
    for n in range(1, 5):
        page = doc.new_page()
        page.insert_text((72, 50), "Revista de Desarrollo Local")
        page.insert_textbox(pymupdf.Rect(72, 80, 520, 760),
                            f"Página {n}. El distrito industrial y la cooperación entre empresas. " * 12)
    data = doc.tobytes()
    doc.close()
    return data


def ingest_bad(kb, name: str, data: bytes):
    from ingest.pipeline import ingest
    from tests.fakes import FakeEmbedder

    before = snapshot(kb)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        summary = ingest(kb, FakeEmbedder(), [path])
        [result] = summary.results
        if result.status == "failed":
            # One Spanish line naming the file.
            assert result.reason.startswith(str(path)) and "\n" not in result.reason
            assert snapshot(kb) == before
        else:
            # A cut that keeps a complete earlier revision (incremental update) still reads.
            assert result.status == "indexed" and result.chunks > 0
            with kb.store.atomic():
                kb.store.delete_document(result.doc_id)
            assert snapshot(kb) == before
    return result


@SLOW
@given(cut=st.floats(0, 1, exclude_max=True))
@example(cut=0.0)
@example(cut=0.5)
@example(cut=0.0703125)  # inside the first page: MuPDF opened it, then page_count raised RuntimeError
def test_a_truncated_pdf_fails_alone(library, sample_pdf, cut):
    result = ingest_bad(library, "cortado.pdf", sample_pdf[: int(len(sample_pdf) * cut)])
    assert result.status == "failed"


def test_a_pdf_cut_after_its_page_tree_fails_with_its_reason(library, sample_pdf):
    # Found by the property above: the whole ingest stopped on "RuntimeError: code=7".
    cut = sample_pdf.index(b"3 0 obj")
    result = ingest_bad(library, "cortado.pdf", sample_pdf[:cut])
    assert result.status == "failed" and "PDF dañado o truncado" in result.reason


@SLOW
@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=64)),
                min_size=1, max_size=4))
def test_a_pdf_with_damaged_bytes_never_crashes_an_ingest(library, sample_pdf, damage):
    # The end (and its %%EOF) survives, so MuPDF repairs the file and serves whatever it can.
    data = bytearray(sample_pdf)
    for where, junk in damage:
        at = int(where * len(data))
        data[at:at + len(junk)] = junk
    ingest_bad(library, "dañado.pdf", bytes(data))


@SLOW
@given(data=st.binary(max_size=4000), header=st.sampled_from([b"", b"%PDF-", b"%PDF-1.7\n", b"\xef\xbb\xbf%PDF-"]))
@example(data=b"", header=b"%PDF-")
@example(data=b"\n%%EOF\n", header=b"%PDF-1.4\n")
@example(data=b"1 0 obj<</Type/Catalog>>endobj trailer<</Root 1 0 R>>\n%%EOF", header=b"%PDF-1.4\n")
def test_random_bytes_named_pdf_fail_alone(library, data, header):
    result = ingest_bad(library, "aleatorio.pdf", header + data)
    assert result.status == "failed"


@pytest.mark.skipif(not REAL_PDFS.is_dir(), reason="../shared/real-pdfs no está disponible")
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_real_pdfs_cut_anywhere_never_crash_an_ingest(library, data):
    # The smaller files: a cut of the 178-page manual that still reads would take seconds.
    pdfs = sorted(p for p in REAL_PDFS.glob("*.pdf") if 0 < p.stat().st_size < 700_000)
    path = data.draw(st.sampled_from(pdfs))
    raw = path.read_bytes()
    cut = data.draw(st.integers(0, len(raw) - 1))
    ingest_bad(library, path.name, raw[:cut])
