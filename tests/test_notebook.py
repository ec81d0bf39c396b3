import csv
import io
import json
import os
import re

import pytest

from kb import config
from kb.cite.catalog import CATALOG_FILE, load_catalog, slugify
from kb.cite.exports import CSV_COLUMNS, to_bibtex, to_csv, to_docx, to_markdown, to_ris
from kb.cite.notebook import Entry, Notebook, NotebookError, notebook_path
from kb.errors import KBError
from kb.records import DocumentMeta

SARAVI = "saravi-1998-distritos-mexico"
PILLIHUAMAN = "pillihuaman-2025-villa-el-salvador"
FOMIN = "fomin-bid-clusters-distritos"
CEPAL = "cepal-sercotec-2025-mipymes-chile"

SARAVI_QUOTE = "Las micro y pequeñas empresas requieren un nuevo contexto institucional."
PILLIHUAMAN_QUOTE = 'La confianza "entre talleres" sostiene la cooperación,\ny el clúster crece.'
FOMIN_QUOTE = "Los distritos industriales comparten un 50% de proveedores & clientes {locales}."


@pytest.fixture
def metas() -> dict[str, DocumentMeta]:
    catalog = load_catalog(config.bundled_corpus_dir() / CATALOG_FILE)
    return {slugify(name): meta for name, meta in catalog.items()}


@pytest.fixture
def entries() -> list[Entry]:
    return [
        Entry("c-saravi-4", SARAVI, SARAVI_QUOTE, "p. 4", 4, note="Idea central del artículo."),
        Entry("c-pilli-3", PILLIHUAMAN, PILLIHUAMAN_QUOTE, "párr. 3", None),
        Entry("c-fomin-7", FOMIN, FOMIN_QUOTE, "párr. 7", None),
        Entry("c-saravi-9", SARAVI, "Segunda cita del mismo artículo.", "p. 9", 9),
    ]


def test_notebook_path_is_in_the_index_directory(tmp_path):
    assert notebook_path(tmp_path) == tmp_path / "cuaderno.json"


def test_missing_file_is_an_empty_notebook(tmp_path):
    notebook = Notebook(tmp_path / "cuaderno.json")
    assert notebook.entries() == []
    assert not (tmp_path / "cuaderno.json").exists()


def test_entries_persist_across_instances_in_order(tmp_path, entries):
    path = notebook_path(tmp_path / "indice")  # the directory is created on first write
    for entry in entries:
        assert Notebook(path).add(entry)
    again = Notebook(path).entries()
    assert again == entries
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1 and len(data["entries"]) == 4
    assert "pequeñas" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", again[0].added)


def test_same_passage_is_not_added_twice(tmp_path, entries):
    notebook = Notebook(tmp_path / "cuaderno.json")
    assert notebook.add(entries[0])
    assert not notebook.add(Entry("c-saravi-4", SARAVI, SARAVI_QUOTE, "p. 4", 4))
    # Same passage with other line breaks is still the same quote.
    assert not notebook.add(Entry("c-saravi-4", SARAVI, SARAVI_QUOTE.replace(" ", "\n", 2), "p. 4", 4))
    # Another sentence of the same chunk is a different citation.
    assert notebook.add(Entry("c-saravi-4", SARAVI, "Otra frase.", "p. 4", 4))
    assert len(Notebook(notebook.path).entries()) == 2


def test_remove(tmp_path, entries):
    notebook = Notebook(tmp_path / "cuaderno.json")
    for entry in entries:
        notebook.add(entry)
    notebook.add(Entry("c-saravi-4", SARAVI, "Otra frase.", "p. 4", 4))
    assert notebook.remove("c-saravi-4", quote="Otra frase.") == 1
    assert [e.quote for e in notebook.entries() if e.chunk_id == "c-saravi-4"] == [SARAVI_QUOTE]
    assert notebook.remove("c-pilli-3") == 1
    assert notebook.remove("no-existe") == 0
    assert [e.chunk_id for e in Notebook(notebook.path).entries()] == ["c-saravi-4", "c-fomin-7", "c-saravi-9"]


def test_set_note(tmp_path, entries):
    notebook = Notebook(tmp_path / "cuaderno.json")
    notebook.add(entries[1])
    assert notebook.set_note("c-pilli-3", "Útil para el capítulo 2.") == 1
    assert Notebook(notebook.path).entries()[0].note == "Útil para el capítulo 2."
    assert notebook.set_note("no-existe", "x") == 0


def test_writes_leave_no_temporary_files(tmp_path, entries):
    notebook = Notebook(tmp_path / "cuaderno.json")
    for entry in entries:
        notebook.add(entry)
    notebook.set_note("c-fomin-7", "nota")
    notebook.remove("c-saravi-9")
    assert os.listdir(tmp_path) == ["cuaderno.json"]


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, entries, monkeypatch):
    notebook = Notebook(tmp_path / "cuaderno.json")
    notebook.add(entries[0])
    before = notebook.path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(NotebookError, match="no se pudo guardar"):
        notebook.add(entries[1])
    assert notebook.path.read_bytes() == before
    assert os.listdir(tmp_path) == ["cuaderno.json"]


@pytest.mark.parametrize("content, reason", [
    (b'{"version": 1, "entries": [', "JSON no válido"),
    (b"\xff\xfe{}", "UTF-8"),
    (b'{"version": 2, "entries": []}', "versión 2 no admitida"),
    (b'["no es un cuaderno"]', 'falta la lista "entries"'),
    (b'{"version": 1, "entries": [{"chunk_id": "c"}]}', "la entrada 1"),
    (b'{"version": 1, "entries": [{"chunk_id": "c", "doc_id": "d", "quote": "q", "locator": "p. 1",'
     b' "page": "uno", "added": "2025-01-01T00:00:00+00:00"}]}', "página no válida"),
])
def test_corrupt_file_is_reported_and_never_overwritten(tmp_path, entries, content, reason):
    path = tmp_path / "cuaderno.json"
    path.write_bytes(content)
    notebook = Notebook(path)
    with pytest.raises(NotebookError) as caught:
        notebook.entries()
    message = str(caught.value)
    assert isinstance(caught.value, KBError)
    assert str(path) in message and reason in message and "\n" not in message
    for change in (lambda: notebook.add(entries[0]), lambda: notebook.remove("c"),
                   lambda: notebook.set_note("c", "x")):
        with pytest.raises(NotebookError):
            change()
    assert path.read_bytes() == content
    assert os.listdir(tmp_path) == ["cuaderno.json"]


# Exports


def test_markdown(entries, metas):
    text = to_markdown(entries, metas)
    assert text.startswith("# Cuaderno de citas\n")
    assert f"> {SARAVI_QUOTE}\n\n(Saraví, 1998, p. 4)\n\nNota: Idea central del artículo.\n" in text
    # A quote spanning lines stays one blockquote.
    assert "> La confianza \"entre talleres\" sostiene la cooperación,\n> y el clúster crece.\n" in text
    assert "(Pillihuaman Huamani, 2025, párr. 3)" in text
    assert "([fomin-bid-clusters-distritos], s. f., párr. 7)" in text
    references = text.split("\n## Referencias\n", 1)[1].strip().split("\n\n")
    # APA order, each document once, italics in Markdown.
    assert references == [
        "[fomin-bid-clusters-distritos]. (s. f.). FOMIN/BID.",
        "Pillihuaman Huamani, J. C. (2025). Relaciones colaborativas y sostenibilidad en microempresas "
        "metalmecánicas: un estudio cualitativo del clúster industrial en Villa El Salvador, Perú. "
        "*Revista Espacios*, *46*(03), art. 4. https://doi.org/10.48082/espacios-a25v46n03p04",
        "Saraví, G. A. (1998). Micro y pequeñas empresas en los distritos industriales de México: "
        "la necesidad de un nuevo contexto institucional. *Sociológica*, *13*(37).",
    ]


def test_empty_notebook_exports(metas):
    assert "## Referencias" not in to_markdown([], metas)
    assert to_bibtex([], metas) == "" and to_ris([], metas) == ""
    assert list(csv.reader(io.StringIO(to_csv([], metas).removeprefix("\ufeff")))) == [CSV_COLUMNS]


def test_docx(entries, metas):
    from docx import Document
    from docx.shared import Inches

    document = Document(io.BytesIO(to_docx(entries, metas)))
    paragraphs = document.paragraphs
    texts = [p.text for p in paragraphs]
    assert texts[0] == "Cuaderno de citas"
    quote = next(p for p in paragraphs if p.text == SARAVI_QUOTE)
    assert quote.style.name == "Quote"
    assert "(Saraví, 1998, p. 4)" in texts and "Nota: Idea central del artículo." in texts
    assert FOMIN_QUOTE in texts
    start = texts.index("Referencias")
    references = paragraphs[start + 1:]
    assert [p.text for p in references] == [
        "[fomin-bid-clusters-distritos]. (s. f.). FOMIN/BID.",
        "Pillihuaman Huamani, J. C. (2025). Relaciones colaborativas y sostenibilidad en microempresas "
        "metalmecánicas: un estudio cualitativo del clúster industrial en Villa El Salvador, Perú. "
        "Revista Espacios, 46(03), art. 4. https://doi.org/10.48082/espacios-a25v46n03p04",
        "Saraví, G. A. (1998). Micro y pequeñas empresas en los distritos industriales de México: "
        "la necesidad de un nuevo contexto institucional. Sociológica, 13(37).",
    ]
    for paragraph in references:
        assert paragraph.paragraph_format.left_indent == Inches(0.5)
        assert paragraph.paragraph_format.first_line_indent == Inches(-0.5)
    assert [r.text for r in references[2].runs if r.italic] == ["Sociológica", "13"]
    assert [r.text for r in references[1].runs if r.italic] == ["Revista Espacios", "46"]


def test_docx_survives_control_characters_from_pdfs(metas):
    entry = Entry("c", SARAVI, "Texto con salto\x0cde página.", "p. 1", 1)
    from docx import Document

    document = Document(io.BytesIO(to_docx([entry], metas)))
    assert "Texto con salto de página." in [p.text for p in document.paragraphs]


def bibtex_entries(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    found = {}
    for kind, key, body in re.findall(r"@(\w+)\{([^,\n]+),\n(.*?)\n\}\n", text, re.S):
        fields = dict(re.findall(r"^  (\w+) = \{(.*)\},?$", body, re.M))
        found[key] = (kind, fields)
    return found


def test_bibtex(entries, metas):
    text = to_bibtex(entries, metas)
    found = bibtex_entries(text)
    assert list(found) == [FOMIN, PILLIHUAMAN, SARAVI]  # each document once
    kind, saravi = found[SARAVI]
    assert kind == "article"
    assert saravi == {
        "author": "Saraví, Gonzalo A.",
        "title": "Micro y pequeñas empresas en los distritos industriales de México: "
                 "la necesidad de un nuevo contexto institucional",
        "journal": "Sociológica", "year": "1998", "volume": "13", "number": "37",
        "note": "Mayo-agosto de 1998.",
    }
    assert found[PILLIHUAMAN][1]["doi"] == "10.48082/espacios-a25v46n03p04"
    assert found[PILLIHUAMAN][1]["pages"] == "art. 4"
    kind, fomin = found[FOMIN]
    # Nothing invented: no author, title or year for a document that states none.
    assert kind == "misc" and set(fomin) == {"publisher", "note"}
    assert fomin["publisher"] == "FOMIN/BID"


def test_bibtex_escapes_and_group_authors():
    meta = DocumentMeta(title="Costos & beneficios: 50% {menos}", authors=("CEPAL", "Pérez, Ana"), year=2020,
                        venue="Revista_X", pages="10-20")
    text = to_bibtex([Entry("c", "doc 1", "q", "p. 1", 1)], {"doc 1": meta})
    assert text.startswith("@article{doc-1,\n")
    assert r"title = {Costos \& beneficios: 50\% \{menos\}}" in text
    assert "author = {{CEPAL} and Pérez, Ana}" in text
    assert r"journal = {Revista\_X}" in text and "pages = {10--20}" in text
    # Braces stay balanced whatever the input held.
    body = re.sub(r"\\[{}]", "", text)
    assert body.count("{") == body.count("}")


def ris_records(text: str) -> list[list[tuple[str, str]]]:
    records, current = [], []
    for line in text.splitlines():
        if not line:
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9])  - (.*)", line)
        assert match, line
        current.append(match.groups())
        if match.group(1) == "ER":
            records.append(current)
            current = []
    assert current == []
    return records


def test_ris(entries, metas):
    records = ris_records(to_ris(entries, metas))
    assert len(records) == 3
    fomin, pillihuaman, saravi = records
    assert fomin[0] == ("TY", "GEN") and fomin[-1] == ("ER", "")
    assert {tag for tag, _ in fomin} == {"TY", "PB", "N1", "ER"}
    assert saravi == [
        ("TY", "JOUR"), ("AU", "Saraví, Gonzalo A."), ("PY", "1998"),
        ("TI", "Micro y pequeñas empresas en los distritos industriales de México: "
               "la necesidad de un nuevo contexto institucional"),
        ("T2", "Sociológica"), ("VL", "13"), ("IS", "37"), ("N1", "Mayo-agosto de 1998."), ("ER", ""),
    ]
    assert ("DO", "10.48082/espacios-a25v46n03p04") in pillihuaman
    assert ("SP", "art. 4") in pillihuaman


def test_ris_page_range():
    meta = DocumentMeta(title="T", venue="R", pages="45–67")
    record = ris_records(to_ris([Entry("c", "d", "q", "p. 50", 50)], {"d": meta}))[0]
    assert ("SP", "45") in record and ("EP", "67") in record


def test_csv_opens_in_excel_with_its_accents(entries, metas):
    data = to_csv(entries, metas).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")  # without it Excel reads UTF-8 as the system code page
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == CSV_COLUMNS
    assert len(rows) == 4
    saravi, pillihuaman, fomin, _ = rows
    assert saravi["cita"] == "(Saraví, 1998, p. 4)"
    assert saravi["referencia"].startswith("Saraví, G. A. (1998). Micro y pequeñas empresas")
    assert saravi["ubicación"] == "p. 4" and saravi["página"] == "4"
    assert saravi["cita_textual"] == SARAVI_QUOTE and saravi["nota"] == "Idea central del artículo."
    assert saravi["añadido"] == entries[0].added
    # Quotes and line breaks survive the round trip.
    assert pillihuaman["cita_textual"] == PILLIHUAMAN_QUOTE and pillihuaman["página"] == ""
    assert fomin["referencia"] == "[fomin-bid-clusters-distritos]. (s. f.). FOMIN/BID."


def test_document_without_metadata_is_exported_with_its_id(metas):
    entry = Entry("c", "desconocido", "Una frase.", "párr. 1", None)
    assert "[desconocido]. (s. f.)." in to_markdown([entry], metas)
    assert to_bibtex([entry], metas) == "@misc{desconocido,\n}\n"
    assert ris_records(to_ris([entry], metas)) == [[("TY", "GEN"), ("ER", "")]]
