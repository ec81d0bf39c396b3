import re

import pytest

from ingest.chunk import chunk_pages, is_heading_paragraph
from kb.records import CleanPage
from kb.text.sentences import split_sentences

SENTENCE = "La cooperación entre las microempresas del distrito fortalece la confianza mutua y reduce costos de transacción."


def page(number, text, status="ok"):
    return CleanPage(number=number, label=None, raw=text, text=text, status=status)


def prose(sentences: int, start: int = 0) -> str:
    return " ".join(f"Oración {i} sobre {SENTENCE[3:]}" for i in range(start, start + sentences))


@pytest.mark.parametrize("text, expected", [
    ("Primera oración. Segunda oración.", ["Primera oración.", "Segunda oración."]),
    ("Según Pedersen et al. (1994) hay tres vías. Otra idea.", ["Según Pedersen et al. (1994) hay tres vías.", "Otra idea."]),
    ("Véase p. 12 del informe. Después sigue.", ["Véase p. 12 del informe.", "Después sigue."]),
    ("Lo dijo Saraví, G. A. en 1998. ¿Por qué? ¡Porque sí!", ["Lo dijo Saraví, G. A. en 1998.", "¿Por qué?", "¡Porque sí!"]),
    ("El «mesoespacio» importa.» Luego el 13,4 % sube.", ["El «mesoespacio» importa.»", "Luego el 13,4 % sube."]),
    ("sin punto final", ["sin punto final"]),
])
def test_sentences_split_at_real_ends_only(text, expected):
    assert [text[s:e] for s, e in split_sentences(text)] == expected


@pytest.mark.parametrize("line, heading", [
    ("1. Introducción", True),
    ("RESUMEN", True),
    ("2.3 Economías externas y aglomeración", True),
    ("La cooperación es clave.", False),
    ("en minúscula no es título", False),
    ("Termina en dos puntos:", False),
])
def test_headings(line, heading):
    assert is_heading_paragraph(line) is heading


def test_chunks_are_whole_sentences_within_the_word_budget():
    text = "\n\n".join(prose(6, 6 * i) for i in range(12))
    chunks = chunk_pages("doc", [page(1, text)])
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.words <= 220
        assert chunk.text.startswith("Oración ") and chunk.text.endswith("transacción.")
    assert all(c.words >= 120 for c in chunks[:-1])


def test_offsets_point_into_the_clean_page_text():
    pages = [page(3, "\n\n".join(prose(8, 10 * i) for i in range(3))), page(4, prose(30, 100))]
    for chunk in chunk_pages("doc", pages):
        by_number = {p.number: p.text for p in pages}
        if chunk.page_start == chunk.page_end:
            assert by_number[chunk.page_start][chunk.start : chunk.end] == chunk.text
        else:
            assert chunk.text.startswith(by_number[chunk.page_start][chunk.start :].strip())
            assert chunk.text.endswith(by_number[chunk.page_end][: chunk.end])


def test_a_chunk_crossing_a_page_records_both_pages():
    pages = [page(7, prose(5)), page(8, prose(5, 5))]
    chunks = chunk_pages("doc", pages, min_words=150)
    assert (chunks[0].page_start, chunks[0].page_end) == (7, 8)
    assert "\n\n" in chunks[0].text


def test_next_chunk_repeats_a_short_last_sentence():
    chunks = chunk_pages("doc", [page(1, "\n\n".join(prose(6, 6 * i) for i in range(8)))])
    last_sentence = re.findall(r"Oración \d+ [^.]*\.", chunks[0].text)[-1]
    assert chunks[1].text.startswith(last_sentence)
    no_overlap = chunk_pages("doc", [page(1, "\n\n".join(prose(6, 6 * i) for i in range(8)))], overlap_words=0)
    assert not no_overlap[1].text.startswith(last_sentence)


def test_section_heading_starts_a_chunk_and_is_recorded():
    text = "\n\n".join(["1. Introducción", prose(8), "2. Distritos industriales", prose(8, 50)])
    chunks = chunk_pages("doc", [page(1, text)])
    assert [c.section for c in chunks] == ["1. Introducción", "2. Distritos industriales"]
    assert chunks[1].text.startswith("2. Distritos industriales")


def test_text_without_pages_uses_paragraph_locators():
    text = "\n\n".join(prose(4, 4 * i) for i in range(10))
    chunks = chunk_pages("doc", [page(None, text)])
    assert all(c.page_start is None and c.page_end is None for c in chunks)
    assert chunks[0].paragraph_start == 1
    assert chunks[1].paragraph_start > chunks[0].paragraph_start
    assert chunks[-1].paragraph_end == 10


def test_ids_are_stable_and_survive_edits_elsewhere():
    paragraphs = [prose(6, 6 * i) for i in range(8)]
    first = chunk_pages("doc", [page(1, "\n\n".join(paragraphs))])
    again = chunk_pages("doc", [page(1, "\n\n".join(paragraphs))])
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    edited = chunk_pages("doc", [page(1, "\n\n".join(paragraphs[:-1] + ["Un párrafo final distinto."]))])
    assert edited[0].chunk_id == first[0].chunk_id
    assert first[0].chunk_id.startswith("doc:")


def test_repeated_text_gets_distinct_ids():
    repeated = prose(8)
    chunks = chunk_pages("doc", [page(1, repeated), page(2, repeated)], min_words=50, overlap_words=0)
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids)) == 2


def test_empty_and_junk_pages_are_not_chunked():
    pages = [page(1, "", "empty"), page(2, "x#@ 0x1 %%", "junk"), page(3, prose(5))]
    chunks = chunk_pages("doc", pages)
    assert [c.page_start for c in chunks] == [3]


def test_an_unpunctuated_flattened_table_is_still_bounded():
    table = " ".join(f"celda{i}" for i in range(1000))
    chunks = chunk_pages("doc", [page(1, table)])
    assert all(c.words <= 220 for c in chunks)
    assert sum(c.words for c in chunks) >= 1000
