"""Scanned and unreadable pages are recognised with Tesseract: their text is
searched and cited with its page, marked as recognised; without Tesseract
ingest says how to install it and goes on."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

import ingest.ocr as ocr
from ingest.clean import clean_pages, unusable_report
from ingest.extract import extract
from ingest.pipeline import ingest
from kb.ask.search import search
from kb.errors import IngestError
from kb.index import KnowledgeBase
from kb.records import Page
from tests.fakes import FAKE_MODEL, FakeEmbedder

REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"
needs_tesseract = pytest.mark.skipif(
    ocr.installed_languages() is None or not {"spa", "eng"} <= ocr.installed_languages(),
    reason="Tesseract con los idiomas spa y eng no está instalado (.ci/run lo instala)")

LAYER = ("El distrito industrial es una entidad socioterritorial caracterizada por la presencia activa "
         "de una comunidad de personas y de una población de empresas en un área delimitada.")
SCANNED = ("La cooperación entre las pequeñas empresas del distrito descansa en la confianza "
           "y en normas compartidas por la comunidad local de productores textiles.")


def _wrapped(page: pymupdf.Page, text: str, **options) -> None:
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 400), text, fontsize=12, **options)


def scanned_pdf(path: Path, texts: list[str], scanned: set[int], hidden: dict[int, str] | None = None,
                dpi: int = 200) -> Path:
    """One page per text; the pages in `scanned` (0-based) become an image of the
    page with no text layer, or with `hidden` text drawn invisibly over it, as OCR
    programs do."""
    hidden = hidden or {}
    doc = pymupdf.open()
    for index, text in enumerate(texts):
        page = doc.new_page()
        if index not in scanned:
            _wrapped(page, text)
            continue
        drawn = pymupdf.open()
        _wrapped(drawn.new_page(), text)
        image = drawn[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY).tobytes("png")
        page.insert_image(page.rect, stream=image)
        if index in hidden:
            _wrapped(page, hidden[index], render_mode=3)
    doc.save(path)
    return path


def test_tsv_lines_and_paragraphs_and_mean_confidence():
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tEl",
        "5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\tdistrito",
        "5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\tindustrial.",
        "4\t1\t1\t2\t1\t0\t0\t0\t1\t1\t-1\t",
        "5\t1\t1\t2\t1\t1\t0\t0\t1\t1\t60\tCluster",
        "5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t-1\t ",
        "5\t1\t3\t1\t1\t1\t0\t0\t1\t1\t96\tA",  # a speck at the foot of the page
        "5\t1\t4\t1\t1\t1\t0\t0\t1\t1\t91\t78",  # a page number stays for cleaning to judge
    ]
    found = ocr.from_tsv("\n".join([header, *rows]))
    assert found.text == "El distrito\nindustrial.\n\nCluster\n\n78"
    assert (found.confidence, found.words) == (81.2, 6)


def test_a_page_recognised_with_low_confidence_is_reported_not_indexed():
    pages = [Page(1, LAYER), Page(2, SCANNED, ocr_confidence=41.5), Page(3, SCANNED, ocr_confidence=88.0)]
    cleaned = clean_pages(pages)
    assert [(p.status, bool(p.text)) for p in cleaned] == [("ok", True), ("ocr-low", False), ("ok", True)]
    assert unusable_report(cleaned) == "OCR poco fiable (confianza < 60 %), no indexado: página 2"


@needs_tesseract
def test_scanned_page_is_recognised_keeps_its_page_and_is_cited_as_ocr(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    scanned_pdf(docs / "informe.pdf", [LAYER, SCANNED], scanned={1})
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    summary = ingest(kb, FakeEmbedder(), [docs])
    assert [r.status for r in summary.results] == ["indexed"]

    hits = search(kb, FakeEmbedder(), "confianza normas compartidas productores textiles", mode="lexical", k=1)
    assert hits[0].chunk.page_start == 2 and hits[0].chunk.ocr
    assert "pequeñas empresas del distrito" in hits[0].chunk.text
    assert hits[0].citation.endswith("p. 2 [texto reconocido por OCR]")
    layer = search(kb, FakeEmbedder(), "entidad socioterritorial comunidad de personas", mode="lexical", k=1)
    assert layer[0].chunk.page_start == 1 and not layer[0].chunk.ocr
    assert "OCR" not in layer[0].citation
    pages = kb.store.pages("informe")
    assert pages[0].ocr_confidence is None and pages[1].ocr_confidence > 80
    kb.close()


@needs_tesseract
def test_a_garbage_text_layer_over_a_scan_is_replaced_by_recognised_text(tmp_path):
    path = scanned_pdf(tmp_path / "escaneo.pdf", [SCANNED], scanned={0},
                       hidden={0: "%$#& 1;2 @@ 0,9 ## 77 ... ** // %% ;; 8( )) [[ 4 ]] ++ == -- 6 <> !!"})
    assert clean_pages(extract(path, ocr=False).pages)[0].status == "junk"

    page = extract(path).pages[0]

    assert page.ocr_confidence is not None
    assert "confianza y en normas compartidas" in " ".join(page.text.split())


@needs_tesseract
def test_a_blank_page_is_reported_as_having_no_text_at_all(tmp_path):
    path = scanned_pdf(tmp_path / "informe.pdf", [LAYER, ""], scanned={1})
    cleaned = clean_pages(extract(path).pages)
    assert unusable_report(cleaned) == "sin texto, ni en capa ni reconocible por OCR: página 2"


def test_without_tesseract_ingest_says_how_to_install_it_once_and_keeps_the_other_pages(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr, "installed_languages", lambda: None)
    docs = tmp_path / "docs"
    docs.mkdir()
    scanned_pdf(docs / "a.pdf", [LAYER, SCANNED], scanned={1})
    scanned_pdf(docs / "b.pdf", [LAYER, SCANNED], scanned={1})
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    said: list[str] = []

    summary = ingest(kb, FakeEmbedder(), [docs], notify=said.append)

    assert said == ["Tesseract no está instalado; para leer páginas escaneadas instálelo con: "
                    "sudo apt install tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng"]
    assert [r.status for r in summary.results] == ["indexed", "indexed"]
    assert all(r.reason.endswith("sin capa de texto: página 2; requiere OCR") for r in summary.results)
    assert search(kb, FakeEmbedder(), "entidad socioterritorial", mode="lexical", k=1)[0].chunk.page_start == 1
    kb.close()


def test_languages_are_a_setting_and_missing_ones_are_named(monkeypatch):
    monkeypatch.setattr(ocr, "installed_languages", lambda: frozenset({"eng", "osd"}))
    assert ocr.languages() == "eng"  # spa+eng asked, only eng installed
    monkeypatch.setenv("KB_OCR_LANGS", "por")
    with pytest.raises(ocr.OcrUnavailable, match="no tiene datos para los idiomas por; instálelos con: sudo apt"):
        ocr.languages()


@needs_tesseract
def test_an_interrupted_recognition_fails_the_file_with_its_name(tmp_path, monkeypatch):
    path = scanned_pdf(tmp_path / "informe.pdf", [SCANNED], scanned={0})

    def interrupted(image: bytes, langs: str):
        raise ocr.OcrInterrupted("el reconocimiento OCR se interrumpió")

    monkeypatch.setattr("ingest.extract.recognise", interrupted)
    with pytest.raises(IngestError) as error:
        extract(path)
    assert str(error.value) == f"{path}: el reconocimiento OCR se interrumpió"


# --- The real scans in ../shared/real-pdfs ---------------------------------------


def real(name: str) -> Path:
    path = REAL_PDFS / name
    if not path.exists():
        pytest.skip(f"no están los PDF reales de prueba en {REAL_PDFS}")
    return path


@needs_tesseract
def test_real_sheet_drawn_as_outlines_is_read_by_ocr():
    pages = clean_pages(extract(real("es_sena_sintesis_sin_texto.pdf")).pages)
    assert pages[0].status == "ok" and pages[0].ocr_confidence > 80
    text = " ".join(pages[0].text.split())
    assert "Modelo de negocio para organizaciones de economía solidaria" in text
    assert "Formas jurídicas" in text


@needs_tesseract
def test_real_scan_with_a_junk_ocr_layer_becomes_body_text_on_its_pages(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "seers.pdf").write_bytes(real("en_seers_1963_limitations_special_case_SCAN.pdf").read_bytes())
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    summary = ingest(kb, FakeEmbedder(), [docs])
    assert [r.status for r in summary.results] == ["indexed"] and summary.results[0].pages == 23

    hit = search(kb, FakeEmbedder(), "economists very little use working on underdeveloped countries",
                 mode="lexical", k=1)[0]
    # The passage is on PDF page 4 (printed page 80), where the layer read
    # "tor^ectontheus^ubi^ofhisfHibject"-like junk.
    assert hit.chunk.page_start == 4 and hit.chunk.kind == "body" and hit.chunk.ocr
    assert "economists are very little use working on the problems of under" in " ".join(hit.chunk.text.split())
    chunks = kb.store.chunks(kb.store.chunk_ids_of("seers"))
    assert sum(c.kind == "body" for c in chunks.values()) >= 0.9 * len(chunks)
    kb.close()


@needs_tesseract
def test_a_scan_indexed_before_tesseract_was_there_is_read_again_once(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    scanned_pdf(docs / "informe.pdf", [LAYER, SCANNED], scanned={1})
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    with monkeypatch.context() as without:
        without.setattr(ocr, "installed_languages", lambda: None)
        ingest(kb, FakeEmbedder(), [docs])
    assert not search(kb, FakeEmbedder(), "normas compartidas productores textiles", mode="lexical", k=1)

    again = ingest(kb, FakeEmbedder(), [docs])
    assert [r.status for r in again.results] == ["replaced"]
    hit = search(kb, FakeEmbedder(), "normas compartidas productores textiles", mode="lexical", k=1)[0]
    assert hit.chunk.page_start == 2 and hit.chunk.ocr
    assert [r.status for r in ingest(kb, FakeEmbedder(), [docs]).results] == ["unchanged"]
    kb.close()


def _tesseract_children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = stat.with_name("comm").read_text().strip()
        except OSError:
            continue
        if int(fields[1]) == pid and name == "tesseract":
            found.append(int(stat.parent.name))
    return found


@needs_tesseract
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc to see Tesseract running")
def test_sigkill_while_tesseract_reads_a_page_leaves_the_index_before_or_after(tmp_path):
    import shutil
    import signal
    import time

    from kb import config
    from tests.test_crash import check_after_kill, library, start_child, texts_by_chunk

    files = sorted(config.bundled_corpus_dir().glob("*.txt"))[:2]
    kb = KnowledgeBase(tmp_path / "before", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), files)
    kb.close()
    words = files[1].read_text(encoding="utf-8").split()
    pages = [" ".join(words[n * 120:(n + 1) * 120]) for n in range(6)]
    scan = scanned_pdf(tmp_path / "escaneo.pdf", pages, scanned=set(range(6)), dpi=300)
    shutil.copytree(tmp_path / "before", tmp_path / "after")
    kb = KnowledgeBase(tmp_path / "after", FAKE_MODEL)
    states = [library(kb)]
    ingest(kb, FakeEmbedder(), [scan])
    states.append(library(kb))
    texts = texts_by_chunk(kb)
    kb.close()
    assert states[0] != states[1]

    index = tmp_path / "killed"
    shutil.copytree(tmp_path / "before", index)
    child = start_child(index, [scan])
    deadline = time.monotonic() + 60
    while not _tesseract_children(child.pid) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    reading = bool(_tesseract_children(child.pid))
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()

    assert reading  # the kill landed while a page was being recognised
    check_after_kill(index, states, texts)
    kb = KnowledgeBase(index, FAKE_MODEL)
    assert library(kb) == states[0]  # OCR runs before the write: nothing of the scan is in
    kb.close()


@needs_tesseract
def test_every_ocr_dev_answer_lies_on_its_page_of_the_recognised_scan():
    from kb.cite.catalog import slugify
    from kb.evaluation import contains_answer, load_set

    items = load_set(Path(__file__).resolve().parent.parent / "eval" / "ocr-questions.jsonl")
    names = {slugify(p.name): p for p in REAL_PDFS.glob("*.pdf")} if REAL_PDFS.is_dir() else {}
    if not {item["doc_id"] for item in items} <= names.keys():
        pytest.skip(f"no están los PDF reales de prueba en {REAL_PDFS}")
    pages = {doc_id: {p.number: p.text for p in clean_pages(extract(names[doc_id]).pages)}
             for doc_id in {item["doc_id"] for item in items}}
    assert len(items) >= 10
    for item in items:
        assert contains_answer(pages[item["doc_id"]][item["page"]], item["answer"]), item["id"]


def garbled_font_pdf(path: Path, text: str) -> Path:
    """A page set in an embedded font whose Unicode map was removed: it prints
    legibly, but its text layer is glyph numbers ("-B\\x01DPPQFSBDJ±O")."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="sinmapa", fontbuffer=pymupdf.Font("cjk").buffer)
    page.insert_textbox(pymupdf.Rect(72, 72, 520, 600), text, fontsize=12, fontname="sinmapa")
    stripped = pymupdf.open("pdf", doc.tobytes())
    for xref in range(1, stripped.xref_length()):
        if stripped.xref_get_key(xref, "ToUnicode")[0] != "null":
            stripped.xref_set_key(xref, "ToUnicode", "null")
    stripped.save(path)
    return path


@needs_tesseract
def test_a_font_without_unicode_map_is_read_from_the_page_image(tmp_path):
    path = garbled_font_pdf(tmp_path / "fuentes.pdf", f"{SCANNED} {LAYER}")
    assert unusable_report(clean_pages(extract(path, ocr=False).pages)) == "texto ilegible: página 1"

    [page] = clean_pages(extract(path).pages)

    assert page.status == "ok" and page.ocr_confidence > 80
    text = " ".join(page.text.split())
    assert "confianza y en normas compartidas" in text and "entidad socioterritorial" in text
