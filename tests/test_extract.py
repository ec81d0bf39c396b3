from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import pymupdf
import pytest

from ingest.extract import extract
from kb.errors import IngestError

REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"

LEFT_COLUMN = (
    "La economía social y solidaria agrupa a cooperativas, mutuales y fondos de empleados "
    "que comparten principios de ayuda mutua, gestión democrática y participación económica "
    "de sus asociados en todo el territorio nacional."
)
RIGHT_COLUMN = (
    "Las asociaciones rurales permiten a los pequeños productores negociar mejores precios, "
    "compartir maquinaria y acceder a créditos que por separado no obtendrían, según los "
    "estudios de caso revisados en este capítulo."
)


def make_pdf(path: Path, texts: list[str], **save_options) -> Path:
    """One page per text; an empty text gives a blank page."""
    doc = pymupdf.open()
    for text in texts:
        page = doc.new_page()
        if text:
            page.insert_text((72, 72), text)
    doc.save(path, **save_options)
    return path


def pdf_bytes(texts: list[str]) -> bytes:
    doc = pymupdf.open()
    for text in texts:
        doc.new_page().insert_text((72, 72), text)
    return doc.tobytes()


def error_of(path: Path) -> str:
    with pytest.raises(IngestError) as info:
        extract(path)
    return str(info.value)


def flat(text: str) -> str:
    return " ".join(text.split())


# --- PDF ---------------------------------------------------------------------


def test_pdf_pages_are_numbered_from_one_with_their_text(tmp_path):
    path = make_pdf(tmp_path / "informe.pdf", ["Introducción", "Cooperativas", "Conclusión"])

    result = extract(path)

    assert result.kind == "pdf"
    assert result.path == path
    assert [page.number for page in result.pages] == [1, 2, 3]
    assert [page.text.strip() for page in result.pages] == ["Introducción", "Cooperativas", "Conclusión"]


def test_pdf_without_page_labels_has_no_labels(tmp_path):
    result = extract(make_pdf(tmp_path / "informe.pdf", ["uno", "dos"]))

    assert [page.label for page in result.pages] == [None, None]


def test_pdf_page_labels_are_kept(tmp_path):
    doc = pymupdf.open()
    for text in ["Prólogo", "Índice", "Capítulo 1"]:
        doc.new_page().insert_text((72, 72), text)
    doc.set_page_labels([
        {"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1},
        {"startpage": 2, "prefix": "", "style": "D", "firstpagenum": 1},
    ])
    doc.save(tmp_path / "libro.pdf")

    result = extract(tmp_path / "libro.pdf")

    assert [(page.number, page.label) for page in result.pages] == [(1, "i"), (2, "ii"), (3, "1")]


def test_two_column_page_reads_left_column_before_right(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()  # A4: 595 x 842
    page.insert_textbox(pymupdf.Rect(56, 72, 286, 400), LEFT_COLUMN, fontsize=11)
    page.insert_textbox(pymupdf.Rect(309, 72, 539, 400), RIGHT_COLUMN, fontsize=11)
    doc.save(tmp_path / "columnas.pdf")

    text = flat(extract(tmp_path / "columnas.pdf").pages[0].text)

    assert text == f"{LEFT_COLUMN} {RIGHT_COLUMN}"


def test_blank_pdf_page_has_empty_text(tmp_path):
    result = extract(make_pdf(tmp_path / "informe.pdf", ["Texto", ""]))

    assert result.pages[1].number == 2
    assert result.pages[1].text.strip() == ""


def test_pdf_metadata_keeps_only_non_empty_values(tmp_path):
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Texto")
    doc.set_metadata({"title": "Informe de cooperativas", "author": "Ana Pérez", "keywords": ""})
    doc.save(tmp_path / "informe.pdf")

    metadata = extract(tmp_path / "informe.pdf").metadata

    assert metadata["title"] == "Informe de cooperativas"
    assert metadata["author"] == "Ana Pérez"
    assert "keywords" not in metadata
    assert all(value.strip() for value in metadata.values())


def test_pdf_with_only_an_owner_password_is_extracted(tmp_path):
    # PyMuPDF opens it without asking (needs_pass is 0): the empty user password works.
    path = make_pdf(tmp_path / "restringido.pdf", ["Texto restringido"],
                    encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="dueño", user_pw="")

    result = extract(path)

    assert [page.text.strip() for page in result.pages] == ["Texto restringido"]


def test_pdf_with_a_user_password_is_rejected(tmp_path):
    path = make_pdf(tmp_path / "secreto.pdf", ["Texto secreto"],
                    encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="dueño", user_pw="lector")

    assert error_of(path) == f"{path}: PDF protegido con contraseña; no se puede leer sin ella"


def test_truncated_pdf_is_rejected(tmp_path):
    # MuPDF can rebuild the first half and would hand back the last pages blank.
    data = pdf_bytes(["Página uno", "Página dos", "Página tres"])
    path = tmp_path / "cortado.pdf"
    path.write_bytes(data[: len(data) // 2])

    message = error_of(path)

    assert message.startswith(f"{path}: PDF dañado o truncado (")
    assert "\n" not in message


def test_pdf_with_junk_appended_is_still_read(tmp_path):
    path = tmp_path / "con_relleno.pdf"
    path.write_bytes(pdf_bytes(["Página uno", "Página dos"]) + b"\0" * 4000)

    result = extract(path)

    assert [page.text.strip() for page in result.pages] == ["Página uno", "Página dos"]


def test_pdf_signature_after_leading_junk_is_accepted(tmp_path):
    path = tmp_path / "con_cabecera.pdf"
    path.write_bytes(b"cabecera de correo\n" * 10 + pdf_bytes(["Texto"]))

    assert extract(path).pages[0].text.strip() == "Texto"


def test_pdf_that_pymupdf_cannot_open_is_rejected(tmp_path):
    path = tmp_path / "roto.pdf"
    path.write_bytes(b"%PDF-1.7\n" + random.Random(1).randbytes(4000))

    message = error_of(path)

    assert message.startswith(f"{path}: PDF dañado o truncado (")
    assert "\n" not in message


def test_random_bytes_named_pdf_are_rejected(tmp_path):
    path = tmp_path / "aleatorio.pdf"
    path.write_bytes(random.Random(0).randbytes(4096))

    assert error_of(path) == f"{path}: no es un PDF (no empieza con la cabecera %PDF-)"


def test_empty_pdf_is_rejected(tmp_path):
    path = tmp_path / "vacio.pdf"
    path.write_bytes(b"")

    assert error_of(path) == f"{path}: archivo vacío"


def test_html_saved_as_pdf_is_rejected(tmp_path):
    path = tmp_path / "descarga.pdf"
    path.write_text("<!DOCTYPE html>\n<html><head><title>Error 404</title></head>"
                    "<body><h1>Not Found</h1></body></html>\n")

    assert error_of(path) == f"{path}: no es un PDF (parece una página HTML)"


def test_unreadable_page_gets_empty_text_and_the_rest_is_kept(tmp_path, monkeypatch):
    path = make_pdf(tmp_path / "informe.pdf", ["uno", "dos", "tres"])
    real_get_text = pymupdf.Page.get_text

    def failing_on_second_page(page, *args, **kwargs):
        if page.number == 1:
            raise RuntimeError("syntax error in content stream")
        return real_get_text(page, *args, **kwargs)

    monkeypatch.setattr(pymupdf.Page, "get_text", failing_on_second_page)

    result = extract(path, ocr=False)  # with OCR the page would be read from its image (tests/test_ocr.py)

    assert [(page.number, page.text.strip()) for page in result.pages] == [(1, "uno"), (2, ""), (3, "tres")]


def test_reading_a_pdf_that_needs_repair_prints_nothing(tmp_path, capfd):
    path = tmp_path / "con_relleno.pdf"
    path.write_bytes(pdf_bytes(["Página uno"]) + b"\0" * 4000)  # MuPDF repairs it

    extract(path)

    assert capfd.readouterr() == ("", "")


# --- Dispatch and OS errors --------------------------------------------------


def test_extension_is_case_insensitive(tmp_path):
    pdf = make_pdf(tmp_path / "INFORME.PDF", ["Texto"])
    txt = tmp_path / "NOTAS.TXT"
    txt.write_text("notas", encoding="utf-8")

    assert extract(pdf).kind == "pdf"
    assert extract(txt).kind == "txt"


def test_unsupported_extension_is_rejected(tmp_path):
    path = tmp_path / "datos.xlsx"
    path.write_bytes(b"PK\x03\x04")

    assert error_of(path) == (f"{path}: extensión no admitida (.xlsx); se admiten .pdf, .txt, .md, .docx, .odt, "
                              ".epub, .html y .htm")


@pytest.mark.parametrize("name", ["falta.pdf", "falta.txt"])
def test_missing_file_is_reported(tmp_path, name):
    path = tmp_path / name

    assert error_of(path) == f"{path}: no se puede leer (el archivo no existe)"


# --- Text files --------------------------------------------------------------


def test_text_with_form_feeds_is_split_into_numbered_pages(tmp_path):
    path = tmp_path / "acta.txt"
    path.write_text("Página uno\n\fPágina dos\n\fPágina tres\n\f", encoding="utf-8")

    result = extract(path)

    assert result.kind == "txt"
    assert [(page.number, page.text) for page in result.pages] == [
        (1, "Página uno\n"), (2, "Página dos\n"), (3, "Página tres\n"),
    ]


def test_empty_page_between_form_feeds_keeps_its_number(tmp_path):
    path = tmp_path / "acta.txt"
    path.write_text("uno\f\ftres", encoding="utf-8")

    result = extract(path)

    assert [(page.number, page.text) for page in result.pages] == [(1, "uno"), (2, ""), (3, "tres")]


def test_text_without_form_feeds_is_one_page_without_number(tmp_path):
    path = tmp_path / "notas.txt"
    path.write_text("Primera línea.\nSegunda línea.\n", encoding="utf-8")

    result = extract(path)

    assert [(page.number, page.text, page.label) for page in result.pages] == [
        (None, "Primera línea.\nSegunda línea.\n", None),
    ]


def test_markdown_file_is_read_as_md(tmp_path):
    path = tmp_path / "guia.md"
    path.write_text("# Cooperativas\n\nTexto de la guía.\n", encoding="utf-8")

    result = extract(path)

    assert result.kind == "md"
    assert result.pages[0].text == "# Cooperativas\n\nTexto de la guía.\n"


def test_text_bom_is_stripped_and_line_endings_normalised(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "Año uno\r\nAño dos\rAño tres\r\n".encode("utf-8"))

    assert extract(path).pages[0].text == "Año uno\nAño dos\nAño tres\n"


def test_latin1_text_is_rejected_with_the_byte_offset(tmp_path):
    path = tmp_path / "antiguo.txt"
    path.write_bytes("Informe anual\nAño 2020".encode("latin-1"))  # "ñ" is byte 15

    assert error_of(path) == f"{path}: no está en UTF-8 (byte no válido en la posición 15)"


def test_byte_offset_counts_the_bom(tmp_path):
    path = tmp_path / "mezclado.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "Año".encode("latin-1"))

    assert error_of(path) == f"{path}: no está en UTF-8 (byte no válido en la posición 4)"


def test_empty_text_file_is_rejected(tmp_path):
    path = tmp_path / "vacio.txt"
    path.write_bytes(b"")

    assert error_of(path) == f"{path}: archivo vacío"


# --- Real-world PDFs ---------------------------------------------------------


def real_pdf(name: str) -> Path:
    if not REAL_PDFS.is_dir():
        pytest.skip(f"no están los PDF reales de prueba en {REAL_PDFS}")
    return REAL_PDFS / name


@functools.cache
def extracted(name: str):
    """Each real PDF is extracted once per test run; several tests read it."""
    return extract(REAL_PDFS / name)


def real_pdf_names() -> list:
    names = sorted(p.name for p in REAL_PDFS.glob("*.pdf") if not p.name.startswith("bad_"))
    return names or [pytest.param(None, marks=pytest.mark.skip(reason=f"no están los PDF reales en {REAL_PDFS}"))]


@pytest.mark.parametrize("name", real_pdf_names())
def test_real_pdf_extracts_every_page(name):
    doc_pages = pymupdf.open(REAL_PDFS / name).page_count

    result = extracted(name)

    assert [page.number for page in result.pages] == list(range(1, doc_pages + 1))


def test_real_empty_file_is_rejected():
    path = real_pdf("bad_empty_0_bytes.pdf")

    assert error_of(path) == f"{path}: archivo vacío"


def test_real_html_access_denied_page_is_rejected():
    path = real_pdf("bad_html_access_denied.pdf")

    assert error_of(path) == f"{path}: no es un PDF (parece una página HTML)"


def test_real_blank_placeholder_page_has_no_letters():
    real_pdf("odd_blank_placeholder_page.pdf")

    pages = extracted("odd_blank_placeholder_page.pdf").pages

    assert len(pages) == 1
    assert not re.search(r"[^\W\d_]", pages[0].text)


def test_real_page_drawn_as_outlines_has_no_text_layer():
    # Its text comes from OCR instead (tests/test_ocr.py).
    pages = extract(real_pdf("es_sena_sintesis_sin_texto.pdf"), ocr=False).pages

    assert [(page.number, page.text.strip()) for page in pages] == [(1, "")]


def test_real_long_manual_has_178_pages_and_no_page_labels():
    # Its printed page numbers differ from the PDF index, but the file defines no labels.
    real_pdf("es_desarrollo_humano_pobreza_desigualdades.pdf")

    pages = extracted("es_desarrollo_humano_pobreza_desigualdades.pdf").pages

    assert len(pages) == 178
    assert [page.number for page in pages] == list(range(1, 179))
    assert all(page.label is None for page in pages)


def test_real_journal_article_keeps_its_printed_page_labels():
    real_pdf("en_sharif_2006_national_innovation_systems.pdf")

    pages = extracted("en_sharif_2006_national_innovation_systems.pdf").pages

    assert [(page.number, page.label) for page in pages[:3]] == [(1, "745"), (2, "746"), (3, "747")]


def test_real_two_column_article_in_english_keeps_reading_order():
    real_pdf("en_sharif_2006_national_innovation_systems.pdf")

    text = flat(extracted("en_sharif_2006_national_innovation_systems.pdf").pages[2].text)

    assert ("Most of these studies treat science policy as a ‘black box’, however, focusing "
            "only on the inputs and the outputs of a given policy in practice.") in text
    # The whole left column comes before the first words of the right one.
    assert text.index("National Innovation Systems concept.") < text.index("Contributions to critical S&TS")


def test_real_two_column_article_in_spanish_keeps_reading_order():
    real_pdf("es_vazquez_maggio_sustitucion_importaciones.pdf")

    text = flat(extracted("es_vazquez_maggio_sustitucion_importaciones.pdf").pages[3].text)

    assert ("La economía mundial a finales del siglo xix y hasta principios del siglo xx se "
            "caracterizó por un tipo de globalización1 muy específico.") in text
    assert text.index("tercer mundo, pobres.") < text.index("La mayor parte del mundo")


def test_title_guess_is_the_first_pages_largest_type(tmp_path):
    path = tmp_path / "articulo.pdf"
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((50, 80), "Distritos industriales y mesoespacio", fontsize=20)
    page.insert_textbox(pymupdf.Rect(50, 120, 550, 700), "Texto del cuerpo del artículo. " * 40, fontsize=10)
    doc.save(path)
    assert extract(path).title_guess == "Distritos industriales y mesoespacio"


def test_no_title_guess_when_nothing_stands_out(tmp_path):
    path = tmp_path / "plano.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_textbox(pymupdf.Rect(50, 50, 550, 700), "Solo cuerpo de texto. " * 60, fontsize=10)
    doc.save(path)
    assert extract(path).title_guess is None
