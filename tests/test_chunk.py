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


def words(n: int, start: int = 0) -> str:
    """A paragraph of about `n` words in sentences of 16."""
    return prose(max(1, n // 16), start)


def test_a_paragraph_of_sensible_length_is_one_chunk():
    paragraphs = [words(80), words(140, 100), words(200, 200)]
    chunks = chunk_pages("doc", [page(1, "\n\n".join(paragraphs))])
    assert [c.text for c in chunks] == paragraphs


def test_a_long_paragraph_is_split_at_sentences_into_near_equal_parts():
    long = words(600)
    chunks = chunk_pages("doc", [page(1, long)])
    assert len(chunks) == 3
    assert " ".join(c.text for c in chunks) == long
    assert all(c.text.endswith("transacción.") and 160 <= c.words <= 250 for c in chunks)


def test_short_paragraphs_join_their_neighbours_but_not_across_a_heading():
    items = [f"Ítem {i}: la asociatividad reduce costos." for i in range(6)]
    text = "\n\n".join([*items[:3], "2. Distritos industriales", *items[3:]])
    chunks = chunk_pages("doc", [page(1, text)])
    assert [c.text.split("\n\n") for c in chunks] == [items[:3], ["2. Distritos industriales", *items[3:]]]


def test_offsets_point_into_the_clean_page_text():
    pages = [page(3, "\n\n".join(prose(8, 10 * i) for i in range(3))), page(4, prose(30, 100))]
    for chunk in chunk_pages("doc", pages):
        by_number = {p.number: p.text for p in pages}
        if chunk.page_start == chunk.page_end:
            assert by_number[chunk.page_start][chunk.start : chunk.end] == chunk.text
        else:
            assert chunk.text.startswith(by_number[chunk.page_start][chunk.start :].strip())
            assert chunk.text.endswith(by_number[chunk.page_end][: chunk.end])


def test_a_chunk_crosses_a_page_only_where_its_paragraph_continues():
    continued = [page(7, words(60) + " Las empresas del distrito"), page(8, "comparten proveedores. " + words(60, 9))]
    chunks = chunk_pages("doc", continued)
    assert len(chunks) == 1 and (chunks[0].page_start, chunks[0].page_end) == (7, 8)
    assert "distrito\n\ncomparten" in chunks[0].text
    separate = [page(7, words(30)), page(8, words(30, 9))]
    assert [(c.page_start, c.page_end) for c in chunk_pages("doc", separate)] == [(7, 7), (8, 8)]


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
    chunks = chunk_pages("doc", [page(1, repeated), page(2, repeated)])
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids)) == 2


def test_empty_and_junk_pages_are_not_chunked():
    pages = [page(1, "", "empty"), page(2, "x#@ 0x1 %%", "junk"), page(3, prose(5))]
    chunks = chunk_pages("doc", pages)
    assert [c.page_start for c in chunks] == [3]


def test_an_unpunctuated_flattened_table_is_still_bounded():
    table = " ".join(f"celda{i}" for i in range(1000))
    chunks = chunk_pages("doc", [page(1, table)])
    assert all(c.words <= 250 for c in chunks)
    assert sum(c.words for c in chunks) >= 1000


def test_lines_of_credits_in_a_row_do_not_run_across_pages():
    credits = [page(n, "\n\n".join(f"Directora de Promoción {n}-{i}" for i in range(6))) for n in (1, 2, 3)]
    chunks = chunk_pages("doc", credits)
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (2, 2), (3, 3)]
