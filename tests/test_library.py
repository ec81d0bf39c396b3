"""Uploads (names, types from content, size) and metadata edits saved to the catalog."""

import shutil

import pytest

from ingest.pipeline import ingest
from kb import config
from kb.cite.catalog import load_catalog
from kb.index import KnowledgeBase
from kb.library import UploadError, edit_metadata, safe_name, save_upload
from tests.documents import docx_bytes, epub_bytes, odt_bytes, word_paragraph, xhtml
from tests.fakes import FAKE_MODEL, FakeEmbedder

PDF = b"%PDF-1.4\n%fake but the signature is what is checked here\n"
DOCX = docx_bytes(word_paragraph("La cooperación entre empresas."))
ODT = odt_bytes("<text:p>La cooperación entre empresas.</text:p>")
EPUB = epub_bytes({"cap1.xhtml": xhtml("Uno", "<p>Texto.</p>")}, ["cap1.xhtml"], title="Libro", creator="Autora")
PAGE = b"<!-- guardada desde el navegador -->\n<!DOCTYPE html><html><body><p>Cooperaci\xf3n</p></body></html>"


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\ana\\Informe final (v2).PDF", "Informe-final-v2.pdf"),
    ("ñandú «citas».md", "nandu-citas.md"),
    ("<script>.txt", "script.txt"),
    (".oculto.txt", "oculto.txt"),
])
def test_upload_names_are_sanitised(name, expected):
    assert safe_name(name) == expected


def test_upload_is_stored_under_the_data_directory(tmp_path):
    path = save_upload(tmp_path, "../fuera.pdf", PDF)
    assert path == tmp_path / "documentos" / "fuera.pdf" and path.read_bytes() == PDF
    other = save_upload(tmp_path, "fuera.pdf", PDF + b"otra version")
    assert other.name == "fuera-2.pdf" and path.read_bytes() == PDF
    assert save_upload(tmp_path, "nota.md", "# Título\n\nTexto con ñ.".encode()).suffix == ".md"


@pytest.mark.parametrize("name, data", [
    ("informe.docx", DOCX),
    ("acta.odt", ODT),
    ("libro.epub", EPUB),
    ("pagina.html", PAGE),  # Windows-1252, as many saved pages are
    ("fragmento.htm", "<p>Un párrafo suelto.</p>".encode()),
])
def test_documents_of_every_format_are_accepted(tmp_path, name, data):
    path = save_upload(tmp_path, name, data)
    assert path == tmp_path / "documentos" / name and path.read_bytes() == data


@pytest.mark.parametrize("name, data, reason", [
    ("informe.pdf", b"<!DOCTYPE html><html>Access Denied</html>", "no corresponde a la extensión .pdf"),
    ("notas.txt", PDF, "no corresponde a la extensión .txt (parece un PDF)"),
    ("vacio.pdf", b"", "el archivo está vacío"),
    ("programa.exe", b"MZ\x90\x00", "tipo de archivo no admitido (use PDF, TXT, MD, DOCX, ODT, EPUB o HTML)"),
    ("informe.docx", PDF, "no corresponde a la extensión .docx (parece un PDF)"),
    ("informe.docx", ODT, "no corresponde a la extensión .docx (parece un documento OpenDocument)"),
    ("libro.epub", DOCX, "no corresponde a la extensión .epub (parece un documento Word)"),
    ("acta.odt", b"PK\x03\x04 roto", "no corresponde a la extensión .odt (parece otro tipo de archivo)"),
    ("notas.txt", PAGE, "no corresponde a la extensión .txt (parece una página HTML)"),
    ("notas.md", b"  <html><body>Hola</body></html>", "no corresponde a la extensión .md (parece una página HTML)"),
    ("pagina.html", DOCX, "no corresponde a la extensión .html (parece un documento Word)"),
    ("pagina.html", b"Solo texto, sin etiquetas.", "no corresponde a la extensión .html (parece texto)"),
    ("latin1.txt", "canción".encode("latin-1") * 10, "no corresponde a la extensión .txt"),
])
def test_bad_uploads_are_refused_with_the_reason(tmp_path, name, data, reason):
    with pytest.raises(UploadError) as error:
        save_upload(tmp_path, name, data)
    assert str(error.value).startswith(f"{name}: ") and reason in str(error.value)
    assert not (tmp_path / "documentos").exists() or not any((tmp_path / "documentos").iterdir())


def test_size_limit(tmp_path):
    with pytest.raises(UploadError, match="supera el tamaño máximo de 1 MB"):
        save_upload(tmp_path, "grande.txt", b"a" * (1024 * 1024 + 1), max_bytes=1024 * 1024)


def test_metadata_edit_updates_index_and_catalog_and_survives_reingest(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(config.bundled_corpus_dir(), corpus)
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    try:
        ingest(kb, FakeEmbedder(), [corpus])
        doc = "fomin-bid-clusters-distritos"
        meta = edit_metadata(kb, doc, title="Clusters y distritos industriales", authors=["Costamagna, Pablo"],
                             year="2006")
        assert kb.store.document(doc).meta == meta
        assert meta.publisher == "FOMIN/BID"  # fields not edited are kept
        catalog = load_catalog(corpus / "catalog.toml")
        assert catalog["fomin-bid-clusters-distritos.txt"].authors == ("Costamagna, Pablo",)
        assert catalog["saravi-1998-distritos-mexico.txt"].year == 1998  # other entries untouched
        assert "# Metadatos conocidos" in (corpus / "catalog.toml").read_text(encoding="utf-8")  # comments kept
        summary = ingest(kb, FakeEmbedder(), [corpus])
        assert summary.count("unchanged") == 5
        assert kb.store.document(doc).meta.title == "Clusters y distritos industriales"
        cleared = edit_metadata(kb, doc, year="")
        assert cleared.year is None
    finally:
        kb.close()
