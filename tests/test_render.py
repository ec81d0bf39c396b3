"""Rendering a PDF page to PNG with a quoted passage highlighted."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from ingest.render import RenderError, render_page
from kb.errors import KBError

REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

LINES = [
    "Los distritos industriales combinan cooperación y competencia",
    "entre pequeñas empresas de un mismo territorio productivo.",
    "Otra frase distinta ocupa la tercera línea de la página.",
]
QUOTE = ("Los distritos industriales combinan cooperación y competencia entre pequeñas empresas "
         "de un mismo territorio productivo.")


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page()
        for i, line in enumerate(lines):
            page.insert_text((72, 100 + 16 * i), line, fontsize=11)
    doc.save(path)
    return path


@pytest.fixture
def pdf(tmp_path):
    return make_pdf(tmp_path / "distritos.pdf", [["Portada"], LINES])


def pixels(png: bytes) -> bytes:
    return pymupdf.Pixmap(png).samples


def band(png: bytes, top: float, bottom: float, zoom: float = 1.5) -> bytes:
    """The pixels of the rows between `top` and `bottom` (PDF points)."""
    pix = pymupdf.Pixmap(png)
    row = pix.width * pix.n
    return pix.samples[int(top * zoom) * row:int(bottom * zoom) * row]


def test_quote_over_two_lines_is_found_and_highlighted(pdf):
    plain, found_plain = render_page(pdf, 2)
    marked, found = render_page(pdf, 2, QUOTE)
    assert plain.startswith(PNG_SIGNATURE) and marked.startswith(PNG_SIGNATURE)
    assert found and not found_plain
    assert pixels(marked) != pixels(plain)
    # Both quoted lines change (baselines at 100 and 116 pt); the third (132 pt) does not.
    assert band(marked, 92, 102) != band(plain, 92, 102)
    assert band(marked, 108, 118) != band(plain, 108, 118)
    assert band(marked, 124.5, 134) == band(plain, 124.5, 134)


def test_the_file_itself_is_not_changed(pdf):
    before = pdf.read_bytes()
    render_page(pdf, 2, QUOTE)
    assert pdf.read_bytes() == before


def test_zoom_scales_the_image(pdf):
    small = pymupdf.Pixmap(render_page(pdf, 1, zoom=1.0)[0])
    large = pymupdf.Pixmap(render_page(pdf, 1, zoom=2.0)[0])
    assert large.width == 2 * small.width


def test_quote_with_other_whitespace_and_hyphenation_is_found(tmp_path):
    path = make_pdf(tmp_path / "guiones.pdf", [[
        "El mesoespacio institucional genera un contexto de coopera-",
        "ción y confianza entre las empresas del distrito.",
    ]])
    # As the clean text has it: the word rejoined, another line break.
    quote = ("El mesoespacio institucional genera un contexto de\n"
             "cooperación y confianza entre las empresas del distrito.")
    assert render_page(path, 1, quote)[1]
    # As the raw text has it: the hyphen kept.
    assert render_page(path, 1, "un contexto de coopera- ción y confianza entre las empresas")[1]


def test_missing_quote_is_not_found(pdf):
    png, found = render_page(pdf, 2, "Esta oración no aparece en ninguna parte del documento de prueba.")
    assert png.startswith(PNG_SIGNATURE) and not found
    assert pixels(png) == pixels(render_page(pdf, 2)[0])
    assert not render_page(pdf, 1, QUOTE)[1]  # on another page


@pytest.mark.parametrize("number", [0, 3, -1])
def test_page_out_of_range(pdf, number):
    with pytest.raises(RenderError) as info:
        render_page(pdf, number)
    message = str(info.value)
    assert str(pdf) in message and f"la página {number} no existe (el PDF tiene 2 páginas)" in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    path = tmp_path / "no-existe.pdf"
    with pytest.raises(KBError, match="el archivo no existe") as info:
        render_page(path, 1)
    assert str(path) in str(info.value)


def test_not_a_pdf(tmp_path):
    path = tmp_path / "pagina.pdf"
    path.write_text("<!doctype html><html><body>Access Denied</body></html>", encoding="utf-8")
    with pytest.raises(RenderError, match="no es un PDF") as info:
        render_page(path, 1)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    text = tmp_path / "notas.txt"
    text.write_text("Solo texto.", encoding="utf-8")
    with pytest.raises(RenderError, match="no es un PDF"):
        render_page(text, 1)


@pytest.mark.skipif(not REAL_PDFS.is_dir(), reason="real PDFs not available")
def test_real_two_column_pdf_with_hyphenation():
    from ingest.clean import clean_pages
    from ingest.extract import extract
    from kb.text.sentences import split_sentences

    path = REAL_PDFS / "es_vazquez_maggio_sustitucion_importaciones.pdf"
    if not path.exists():
        pytest.skip("es_vazquez_maggio_sustitucion_importaciones.pdf not available")
    page = clean_pages(extract(path).pages)[3]
    raw = " ".join(page.raw.split())
    # Long sentences the cleaner changed (rejoined hyphens, ligatures), in two columns.
    sentences = [page.text[s:e] for s, e in split_sentences(page.text) if len(page.text[s:e].split()) >= 15]
    changed = [s for s in sentences if " ".join(s.split()) not in raw]
    assert len(changed) >= 3
    for sentence in changed[:6]:
        png, found = render_page(path, page.number, sentence)
        assert png.startswith(PNG_SIGNATURE) and found, sentence
