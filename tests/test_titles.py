"""The title guessed from a PDF's first page, and the PDF metadata title that wins over it."""

from __future__ import annotations

import functools
from pathlib import Path

import pymupdf
import pytest

from ingest.extract import extract
from ingest.pipeline import _metadata_from_pdf, _plausible_title

REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"

BODY = ("El neoestructuralismo surge como una corriente de pensamiento económico latinoamericano "
        "que combina elementos del estructuralismo clásico con nuevas estrategias de desarrollo. ") * 12


def new_page(doc: pymupdf.Document, body_top: float = 300) -> pymupdf.Page:
    """A page with body text in small type below `body_top`."""
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(50, body_top, 550, 800), BODY, fontsize=10)
    return page


def title_of(doc: pymupdf.Document, tmp_path: Path) -> str | None:
    path = tmp_path / "documento.pdf"
    doc.save(path)
    return extract(path).title_guess


def width(text: str, size: float, font: str = "helv") -> float:
    return pymupdf.get_text_length(text, fontname=font, fontsize=size)


# --- Built PDFs ----------------------------------------------------------------


def test_title_pieces_drawn_out_of_reading_order_are_read_in_order(tmp_path):
    doc = pymupdf.open()
    page = new_page(doc)
    # Second line first, then the first line's words right to left.
    page.insert_text((50, 110), "y desarrollo local", fontsize=20)
    page.insert_text((50 + width("Cooperativas ", 20), 84), "rurales", fontsize=20)
    page.insert_text((50, 84), "Cooperativas", fontsize=20)

    assert title_of(doc, tmp_path) == "Cooperativas rurales y desarrollo local"


def test_footnote_mark_after_the_title_is_left_out(tmp_path):
    doc = pymupdf.open()
    page = new_page(doc)
    page.insert_text((50, 84), "Reflexiones sobre su vigencia actual", fontsize=20)
    page.insert_text((50 + width("Reflexiones sobre su vigencia actual", 20), 76), "1", fontsize=11)

    assert title_of(doc, tmp_path) == "Reflexiones sobre su vigencia actual"


def test_english_translation_in_the_same_type_is_not_part_of_the_title(tmp_path):
    doc = pymupdf.open()
    page = new_page(doc)
    for y, line in [(84, "El pensamiento estructuralista de la CEPAL"),
                    (108, "sobre el desarrollo y la integración"),
                    (132, "The structuralist thinking of ECLAC"),
                    (156, "on development and integration")]:
        page.insert_text((50, y), line, fontsize=18, fontname="hebo")

    assert title_of(doc, tmp_path) == ("El pensamiento estructuralista de la CEPAL "
                                       "sobre el desarrollo y la integración")


def test_translation_in_another_font_ends_the_title_even_without_function_words(tmp_path):
    doc = pymupdf.open()
    page = new_page(doc)
    page.insert_text((50, 84), "Neoestructuralismo latinoamericano", fontsize=18, fontname="hebo")
    page.insert_text((50, 108), "Latin American neostructuralism", fontsize=18, fontname="heit")

    assert title_of(doc, tmp_path) == "Neoestructuralismo latinoamericano"


def test_fake_small_caps_title_is_read_whole(tmp_path):
    # Capitals one size up, other letters and whole lines at a smaller size,
    # as in Briceño et al. 2013; body text a little smaller still.
    doc = pymupdf.open()
    page = new_page(doc)
    x = 50
    for text, size in [("E", 14), ("L PENSAMIENTO DE LA ", 11), ("CEPAL", 14)]:
        page.insert_text((x, 84), text, fontsize=size, fontname="hebo")
        x += width(text, size, "hebo")
    page.insert_text((50, 108), "SOBRE EL DESARROLLO", fontsize=11, fontname="hebo")

    assert title_of(doc, tmp_path) == "EL PENSAMIENTO DE LA CEPAL SOBRE EL DESARROLLO"


def test_word_broken_across_lines_is_rejoined_when_the_document_has_it(tmp_path):
    doc = pymupdf.open()
    page = new_page(doc)
    page.insert_text((50, 84), "Neoestructuralism", fontsize=30)
    page.insert_text((50, 120), "o: Una Alternativa", fontsize=30)
    page.insert_text((50, 156), "para América Latina", fontsize=30)

    assert title_of(doc, tmp_path) == "Neoestructuralismo: Una Alternativa para América Latina"


def test_short_word_is_not_glued_to_the_previous_one_without_evidence(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(50, 300, 550, 800), "Texto del cuerpo sin la palabra. " * 40, fontsize=10)
    page.insert_text((50, 84), "Neoestructuralism", fontsize=30)
    page.insert_text((50, 120), "o desarrollo", fontsize=30)

    assert title_of(doc, tmp_path) == "Neoestructuralism o desarrollo"


def test_letters_drawn_twice_at_a_clip_edge_are_read_once(tmp_path):
    # The 178-page manual's cover: "Desarr" and "rollo" overlap on one "r".
    # Other text drawn in between, as there: MuPDF itself drops a glyph drawn
    # twice on the same spot when both come one after the other.
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((50, 84), "Desarr", fontsize=28)
    page.insert_textbox(pymupdf.Rect(50, 300, 550, 800), BODY, fontsize=10)
    page.insert_text((50 + width("Desar", 28), 84), "rollo humano", fontsize=28)

    assert title_of(doc, tmp_path) == "Desarrollo humano"


def test_smaller_subtitle_and_body_stay_out_of_the_title(tmp_path):
    doc = pymupdf.open()
    page = new_page(doc, body_top=140)
    page.insert_text((50, 84), "Asociatividad rural", fontsize=24)
    page.insert_text((50, 110), "Guía para productores del Cauca", fontsize=14)

    assert title_of(doc, tmp_path) == "Asociatividad rural"


def test_no_title_from_an_invisible_ocr_layer(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((50, 84), "INSTITUTE of ECONOMICS and STATISTICS", fontsize=36, render_mode=3)
    page.insert_textbox(pymupdf.Rect(50, 300, 550, 800), BODY, fontsize=10, render_mode=3)

    assert title_of(doc, tmp_path) is None


# --- Metadata title ---------------------------------------------------------------


def test_redalyc_prefix_is_stripped_from_the_metadata_title():
    assert (_plausible_title("Redalyc.PRINCIPALES TEORIAS SOBRE EL DESARROLLO ECONOMICO Y SOCIAL")
            == "PRINCIPALES TEORIAS SOBRE EL DESARROLLO ECONOMICO Y SOCIAL")


def test_title_merely_about_redalyc_is_kept():
    assert _plausible_title("Redalyc: una red de revistas científicas") == "Redalyc: una red de revistas científicas"


# --- Real-world PDFs ------------------------------------------------------------


def real_pdf(name: str) -> Path:
    if not REAL_PDFS.is_dir():
        pytest.skip(f"no están los PDF reales de prueba en {REAL_PDFS}")
    return REAL_PDFS / name


@functools.cache
def real_title(name: str) -> str | None:
    """The title a citation would show for a real PDF without a catalog entry."""
    extracted = extract(real_pdf(name))
    return _metadata_from_pdf(extracted.metadata, extracted.title_guess).title


@pytest.mark.parametrize("name, title", [
    ("es_reyes_teorias_desarrollo_redalyc.pdf", "PRINCIPALES TEORIAS SOBRE EL DESARROLLO ECONOMICO Y SOCIAL"),
    ("es_briceno_estructuralismo_cepal_integracion.pdf",
     "EL PENSAMIENTO ESTRUCTURALISTA DE LA CEPAL SOBRE EL DESARROLLO Y LA INTEGRACIÓN LATINOAMERICANA: "
     "REFLEXIONES SOBRE SU VIGENCIA ACTUAL"),
    ("es_neoestructuralismo_slides.pdf", "Neoestructuralismo: Una Alternativa para América Latina"),
    # A scan's hidden OCR layer: its largest text is the journal's masthead.
    ("en_seers_1963_limitations_special_case_SCAN.pdf", None),
    ("es_desarrollo_humano_pobreza_desigualdades.pdf", "Desarrollo humano, pobreza y desigualdades"),
    ("en_sharif_2006_national_innovation_systems.pdf",
     "Emergence and development of the National Innovation Systems concept"),
    ("es_neoestructuralismo_anuario_2010.pdf",
     "ENFOQUES PRINCIPALES DEL NEOESTRUCTURALISMO COMO CORRIENTE DEL PENSAMIENTO ECONÓMICO LATINOAMERICANO"),
])
def test_real_pdf_title(name, title):
    assert real_title(name) == title
