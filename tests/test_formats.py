"""Word, OpenDocument, EPUB and HTML files, built here, through the real ingest: what is
searchable, under which section, cited how, with which title; and the one-line errors."""

from __future__ import annotations

import zipfile

import pytest
from click.testing import CliRunner

import ingest.formats as formats
from ingest.extract import extract
from ingest.pipeline import ingest
from kb.ask.search import search
from kb.errors import IngestError
from kb.index import KnowledgeBase
from tests.documents import (docx_bytes, epub_bytes, odt_bytes, word_paragraph, word_table,
                             xhtml)
from tests.fakes import FAKE_MODEL, FakeEmbedder

# Paragraphs of at least 50 words: each is a passage of its own, so its paragraph
# locator can be checked exactly.
COOPERATION = (
    "La cooperación entre las pequeñas empresas del distrito genera confianza, aprendizaje colectivo y "
    "economías externas que ninguna de ellas obtendría por separado; los talleres de calzado de León "
    "comparten proveedores, técnicos y canales de comercialización, y esa red densa de relaciones "
    "sostiene la competitividad del territorio frente a las grandes firmas que dominan el mercado nacional."
)
MESOSPACE = (
    "El mesoespacio institucional articula a las cámaras empresariales, las universidades, los gobiernos "
    "municipales y las asociaciones de productores; su función es coordinar acciones, reducir la "
    "incertidumbre y crear un contexto de solidaridad en el que la competencia no destruya la "
    "cooperación necesaria para innovar y exportar desde la región hacia otros mercados."
)
CONCLUSION = (
    "En síntesis, la reconversión de los distritos mexicanos exige políticas públicas que fortalezcan las "
    "instituciones intermedias, porque sin ellas la especialización flexible se reduce a subcontratación "
    "precaria y los beneficios del crecimiento se concentran en pocas manos, lejos de los trabajadores y "
    "de las familias que sostienen la producción local día tras día."
)


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    yield base
    base.close()


def chunks_of(kb: KnowledgeBase, doc_id: str):
    return sorted(kb.store.chunks(kb.store.chunk_ids_of(doc_id)).values(), key=lambda chunk: chunk.ordinal)


def chunk_with(kb: KnowledgeBase, doc_id: str, words: str):
    found = [c for c in chunks_of(kb, doc_id) if words in c.text]
    assert len(found) == 1, [c.text for c in chunks_of(kb, doc_id)]
    return found[0]


def all_text(kb: KnowledgeBase, doc_id: str) -> str:
    return "\n".join(c.text for c in chunks_of(kb, doc_id))


def error_of(path) -> str:
    with pytest.raises(IngestError) as caught:
        extract(path)
    return str(caught.value)


# --- Word ----------------------------------------------------------------------


def sample_docx(path):
    deleted = ('<w:del w:id="1" w:author="Revisor"><w:r><w:delText>TEXTO TACHADO EN REVISIÓN</w:delText></w:r>'
               '</w:del>')
    field = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGEREF _Toc12 \\h </w:instrText>'
             '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>.</w:t></w:r>'
             '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    body = "".join([
        word_paragraph("Índice", "Ttulo1"),
        word_paragraph("Introducción 3", "TDC1"),  # the table of contents: left out
        word_paragraph("Distritos industriales en México", "Ttulo"),
        word_paragraph("Introducción", "Ttulo1"),
        word_paragraph(COOPERATION.removesuffix("."), runs=deleted + field),
        word_paragraph(MESOSPACE),
        word_table([["Región", "Talleres", "Empleos"], ["León", "1.200", "45.000"],
                    ["Guadalajara", "800", "30.500"], ["San Mateo Atenco", "450", "12.000"]]),
        word_paragraph("Conclusiones", "Ttulo1"),
        word_paragraph(CONCLUSION, runs='<w:r><w:footnoteReference w:id="1"/></w:r>'),
        word_paragraph("Confianza entre productores", numbered=True),
    ])
    path.write_bytes(docx_bytes(body, title="Micro y pequeñas empresas en los distritos industriales de México",
                                creator="Saraví, Gonzalo A.",
                                footnotes=["Entrevista con un productor de León, marzo de 1997."]))
    return path


def test_docx_paragraphs_sections_locators_and_properties(kb, tmp_path):
    path = sample_docx(tmp_path / "saravi.docx")
    summary = ingest(kb, FakeEmbedder(), [path])
    assert summary.count("indexed") == 1, summary.results
    document = kb.store.document("saravi")
    assert document.kind == "docx"
    # The title and author come from the properties; the creation date is not the year.
    assert document.meta.title == "Micro y pequeñas empresas en los distritos industriales de México"
    assert document.meta.authors == ("Saraví, Gonzalo A.",) and document.meta.year is None

    cooperation = chunk_with(kb, "saravi", "La cooperación entre las pequeñas empresas")
    assert cooperation.section == "Introducción" and cooperation.page_start is None
    # 1 «Índice» (the entry below it is left out), 2 title, 3 «Introducción», 4 this paragraph.
    assert (cooperation.paragraph_start, cooperation.paragraph_end) == (1, 4)
    mesospace = chunk_with(kb, "saravi", "El mesoespacio institucional")
    # The table (paragraph 6) is too short to stand alone: it joins the passage before it.
    assert (mesospace.paragraph_start, mesospace.paragraph_end, mesospace.section) == (5, 6, "Introducción")
    conclusion = chunk_with(kb, "saravi", "En síntesis")
    assert conclusion.section == "Conclusiones"

    text = all_text(kb, "saravi")
    assert "mercado nacional." in text  # the field's result is kept...
    assert "PAGEREF" not in text and "TACHADO" not in text  # ...its code and deleted text are not
    assert "Introducción 3" not in text
    assert "Región · Talleres · Empleos / León · 1.200 · 45.000 / Guadalajara · 800 · 30.500" in text
    assert "• Confianza entre productores" in text
    assert "Entrevista con un productor de León" in text  # footnotes follow the body

    hits = search(kb, FakeEmbedder(), "mesoespacio institucional cámaras empresariales", k=1)
    assert hits[0].citation == ("Saraví (s. f.). Micro y pequeñas empresas en los distritos industriales de "
                                "México, párrs. 5–6")


def test_docx_without_a_title_property_takes_its_title_paragraph(tmp_path):
    path = tmp_path / "sin-titulo.docx"
    path.write_bytes(docx_bytes(word_paragraph("Redes de confianza en Jalisco", "Ttulo") + word_paragraph(MESOSPACE)))
    extracted = extract(path)
    assert extracted.metadata == {} and extracted.title_guess == "Redes de confianza en Jalisco"
    assert extracted.pages[0].number is None


# --- OpenDocument --------------------------------------------------------------


def test_odt_headings_lists_tables_notes_and_metadata(kb, tmp_path):
    words = COOPERATION.split()
    body = (
        '<text:p text:style-name="P1">Asociatividad en Medellín</text:p>'
        '<text:h text:outline-level="1">Marco teórico</text:h>'
        f"<text:p>{' '.join(words[:10])}<text:s text:c=\"3\"/>{' '.join(words[10:20])}<text:tab/>"
        f"{' '.join(words[20:])}"
        '<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body>'
        "<text:p>Véase Becattini (1990).</text:p></text:note-body></text:note></text:p>"
        '<text:list><text:list-item><text:p>Confianza</text:p></text:list-item>'
        "<text:list-item><text:p>Reciprocidad</text:p></text:list-item></text:list>"
        '<table:table><table:table-header-rows><table:table-row><table:table-cell><text:p>Municipio</text:p>'
        "</table:table-cell><table:table-cell><text:p>Empresas</text:p></table:table-cell></table:table-row>"
        "</table:table-header-rows><table:table-row><table:table-cell><text:p>Itagüí</text:p></table:table-cell>"
        "<table:table-cell><text:p>320</text:p></table:table-cell></table:table-row></table:table>"
        f"<text:section><text:h text:outline-level=\"1\">Resultados</text:h><text:p>{MESOSPACE}</text:p>"
        "</text:section>"
    )
    path = tmp_path / "loginn.odt"
    path.write_bytes(odt_bytes(body, title="Asociatividad empresarial en Medellín", creator="Loginn, Revista"))
    ingest(kb, FakeEmbedder(), [path])
    document = kb.store.document("loginn")
    assert document.kind == "odt" and document.meta.title == "Asociatividad empresarial en Medellín"
    assert document.meta.authors == ("Loginn, Revista",)  # the initial creator, not the last editor
    cooperation = chunk_with(kb, "loginn", "La cooperación entre las pequeñas empresas")
    assert cooperation.section == "Marco teórico" and cooperation.page_start is None
    assert COOPERATION in cooperation.text  # text:s and text:tab are spaces between words
    assert chunk_with(kb, "loginn", "El mesoespacio").section == "Resultados"
    text = all_text(kb, "loginn")
    assert "• Confianza" in text and "• Reciprocidad" in text
    assert "Municipio · Empresas / Itagüí · 320" in text
    assert "Véase Becattini (1990)." in text and "1Véase" not in text


# --- EPUB --------------------------------------------------------------------


def sample_epub(path, **options):
    chapters = {
        # Manifest order differs from the reading order, and one document is not in the spine.
        "cap2.xhtml": xhtml("Capítulo 2", f"<section><h1>Capítulo 2. Instituciones</h1><p>{MESOSPACE}</p></section>"),
        "cap1.xhtml": xhtml("Capítulo 1", f"<h1>Capítulo 1. Distritos</h1><p>{COOPERATION}</p>"),
        "borrador.xhtml": xhtml("Borrador", "<p>Borrador descartado que nadie debe encontrar.</p>"),
    }
    path.write_bytes(epub_bytes(chapters, ["cap1.xhtml", "cap2.xhtml"], title="Distritos y clústeres",
                                creator="Costamagna, Pablo", **options))
    return path


def test_epub_chapters_in_spine_order_with_their_headings(kb, tmp_path):
    path = sample_epub(tmp_path / "libro.epub")
    ingest(kb, FakeEmbedder(), [path])
    document = kb.store.document("libro")
    assert document.kind == "epub"
    assert (document.meta.title, document.meta.authors) == ("Distritos y clústeres", ("Costamagna, Pablo",))
    first = chunk_with(kb, "libro", "La cooperación entre las pequeñas empresas")
    second = chunk_with(kb, "libro", "El mesoespacio")
    assert first.section == "Capítulo 1. Distritos" and second.section == "Capítulo 2. Instituciones"
    assert first.ordinal < second.ordinal and first.paragraph_end < second.paragraph_start
    text = all_text(kb, "libro")
    assert "Borrador descartado" not in text  # not in the spine
    assert "Índice general" not in text and "Capítulo de la tabla" not in text  # the navigation document


# --- HTML --------------------------------------------------------------------

PAGE = f"""<!DOCTYPE html>
<html lang="es"><head>
<meta charset="utf-8">
<title>Clústeres en Chile &mdash; informe</title>
<meta name="author" content="Dini, Marco">
<style>p {{ color: red }} .secreto {{ }}</style>
<script>var rastreador = "codigoespia"; alert("hola");</script>
</head><body>
<header><p>Portal de publicaciones · Iniciar sesión</p></header>
<nav><ul><li>Inicio</li><li>Publicaciones</li></ul></nav>
<main><article>
<h1>Clústeres y desarrollo territorial</h1>
<h2>Antecedentes</h2>
<p>{COOPERATION.replace("confianza", "confianza &amp; reciprocidad")}</p>
<div>El programa de Chile &laquo;Mipymes unidas&raquo; cuenta con 381&nbsp;iniciativas.<br>Segunda línea del mismo bloque.</div>
<ul><li>Articulación productiva</li><li><p>Redes de proveedores</p></li></ul>
<table><tr><th>Región</th><th>Iniciativas</th></tr><tr><td><p>Biobío</p></td><td>57</td></tr></table>
<h2>Instituciones</h2>
<p>{MESOSPACE}</p>
<noscript>Active JavaScript para continuar</noscript>
<template><p>Plantilla oculta</p></template>
<p hidden>Texto escondido</p>
</article></main>
<footer>© 2025 Todos los derechos reservados</footer>
<script>rastreador2()</script>
</body></html>"""


def test_html_text_without_scripts_or_site_chrome(kb, tmp_path):
    path = tmp_path / "informe.html"
    path.write_text(PAGE, encoding="utf-8")
    ingest(kb, FakeEmbedder(), [path])
    document = kb.store.document("informe")
    assert document.kind == "html"
    assert document.meta.title == "Clústeres en Chile — informe" and document.meta.authors == ("Dini, Marco",)
    antecedentes = chunk_with(kb, "informe", "La cooperación entre las pequeñas empresas")
    assert antecedentes.section == "Antecedentes" and antecedentes.page_start is None
    assert "confianza & reciprocidad" in antecedentes.text
    assert chunk_with(kb, "informe", "El mesoespacio").section == "Instituciones"
    text = all_text(kb, "informe")
    assert "«Mipymes unidas» cuenta con 381 iniciativas." in text
    assert "381 iniciativas.\n\nSegunda línea" in text  # <br> ends a paragraph
    assert "• Articulación productiva" in text and "• Redes de proveedores" in text
    assert "Región · Iniciativas / Biobío · 57" in text
    for hidden in ("rastreador", "codigoespia", "color", "Iniciar sesión", "Publicaciones", "JavaScript",
                   "Plantilla", "escondido", "derechos reservados"):
        assert hidden not in text
    assert search(kb, FakeEmbedder(), "codigoespia rastreador", k=3, mode="lexical") == []


@pytest.mark.parametrize("encode, declared", [
    (lambda page: page.encode("cp1252"), ""),  # no declaration, not UTF-8: Windows-1252
    (lambda page: page.encode("cp1252"), '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'),
    (lambda page: b"\xef\xbb\xbf" + page.encode("utf-8"), ""),
    (lambda page: page.encode("utf-16"), ""),  # with its byte order mark
])
def test_html_encodings(tmp_path, encode, declared):
    page = f"<html><head>{declared}<title>Política pública</title></head><body><p>Cooperación “solidaria” — año 1998</p></body></html>"
    path = tmp_path / "pagina.htm"
    path.write_bytes(encode(page))
    extracted = extract(path)
    assert extracted.pages[0].text == "Cooperación “solidaria” — año 1998"
    assert extracted.metadata == {"title": "Política pública"}


def test_html_meta_tags_name_the_title_before_the_title_element(tmp_path):
    path = tmp_path / "articulo.html"
    path.write_text('<html><head><title>Inicio | Revista</title><meta name="citation_title" content="Redes de '
                    'empresas"><meta name="citation_author" content="Pérez, Ana"><meta name="author" '
                    'content="webmaster"></head><body><h1>Redes de empresas</h1><p>Texto.</p></body></html>',
                    encoding="utf-8")
    extracted = extract(path)
    assert extracted.metadata == {"title": "Redes de empresas", "author": "Pérez, Ana"}
    assert extracted.title_guess == "Redes de empresas"


# --- Errors --------------------------------------------------------------------


def test_damaged_files_fail_in_one_spanish_line_naming_the_file(tmp_path):
    not_zip = tmp_path / "informe.docx"
    not_zip.write_text("Esto no es un documento de Word.", encoding="utf-8")
    assert error_of(not_zip) == f"{not_zip}: documento Word dañado (no es un archivo ZIP válido)"

    whole = sample_docx(tmp_path / "entero.docx").read_bytes()
    truncated = tmp_path / "cortado.docx"
    truncated.write_bytes(whole[: len(whole) // 2])
    assert error_of(truncated) == f"{truncated}: documento Word dañado (no es un archivo ZIP válido)"

    no_container = sample_epub(tmp_path / "libro.epub", container=False)
    assert error_of(no_container) == f"{no_container}: EPUB dañado (falta META-INF/container.xml)"

    no_body = tmp_path / "vacio.docx"
    no_body.write_bytes(docx_bytes(word_paragraph("") + word_table([["", ""]])))
    assert error_of(no_body) == f"{no_body}: el documento no contiene texto"

    spreadsheet = tmp_path / "hoja.odt"
    with zipfile.ZipFile(spreadsheet, "w") as archive:
        archive.writestr("content.xml", '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:'
                                        'xmlns:office:1.0"><office:body><office:spreadsheet/></office:body>'
                                        "</office:document-content>")
    assert "no es un documento de texto OpenDocument" in error_of(spreadsheet)

    bad_xml = tmp_path / "roto.odt"
    with zipfile.ZipFile(bad_xml, "w") as archive:
        archive.writestr("content.xml", "<office:document-content><sin cerrar")
    assert error_of(bad_xml).startswith(f"{bad_xml}: documento OpenDocument dañado (XML no válido en content.xml: ")

    empty = tmp_path / "nada.epub"
    empty.write_bytes(b"")
    assert error_of(empty) == f"{empty}: archivo vacío"
    assert error_of(tmp_path / "falta.html") == f"{tmp_path / 'falta.html'}: no se puede leer (el archivo no existe)"
    for path in (not_zip, truncated, no_container, no_body, spreadsheet, bad_xml, empty):
        assert "\n" not in error_of(path)


def test_epub_without_chapters_and_encrypted_epub(tmp_path):
    no_chapters = tmp_path / "vacio.epub"
    no_chapters.write_bytes(epub_bytes({}, [], title="Nada", creator="Nadie"))
    # The navigation document alone is no chapter.
    assert error_of(no_chapters) == f"{no_chapters}: EPUB sin capítulos legibles"

    locked = sample_epub(tmp_path / "drm.epub")
    with zipfile.ZipFile(locked, "a") as archive:
        archive.writestr("META-INF/encryption.xml", (
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
            'Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><enc:CipherData><enc:CipherReference '
            'URI="OEBPS/cap1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>'))
    assert error_of(locked) == f"{locked}: EPUB protegido con DRM (sus capítulos están cifrados)"


def test_an_archive_that_inflates_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_UNCOMPRESSED", 2 * formats.MEGABYTE)
    bomb = tmp_path / "bomba.docx"
    bomb.write_bytes(docx_bytes(word_paragraph("a " * 1_500_000)))  # 3 MB of text, a few kB zipped
    assert bomb.stat().st_size < 50_000
    assert error_of(bomb) == (f"{bomb}: documento Word demasiado grande (más de 2 MB sin comprimir, "
                              "en word/document.xml)")


def test_a_damaged_file_fails_alone_and_nothing_indexed_is_lost(kb, tmp_path):
    folder = tmp_path / "biblioteca"
    folder.mkdir()
    sample_docx(folder / "saravi.docx")
    ingest(kb, FakeEmbedder(), [folder])
    before = kb.store.chunk_count()
    (folder / "roto.docx").write_bytes(b"PK\x03\x04 cortado")
    sample_epub(folder / "sin-contenedor.epub", container=False)
    (folder / "pagina.html").write_text(PAGE, encoding="utf-8")
    summary = ingest(kb, FakeEmbedder(), [folder])
    failed = {r.path.name: r.reason for r in summary.results if r.status == "failed"}
    assert set(failed) == {"roto.docx", "sin-contenedor.epub"}
    assert all(reason.startswith(str(folder)) and "\n" not in reason for reason in failed.values())
    assert summary.count("unchanged") == 1 and summary.count("indexed") == 1
    assert kb.store.chunk_count() > before and kb.store.document("saravi") is not None
    assert len(kb.vectors) == kb.store.chunk_count()


def test_kb_ingest_names_each_ignored_file_with_its_reason(tmp_path, monkeypatch):
    import kb.cli as cli_module

    monkeypatch.setattr(cli_module, "_open_kb",
                        lambda *_, **__: (KnowledgeBase(tmp_path / "idx", FAKE_MODEL), FakeEmbedder()))
    folder = tmp_path / "carpeta"
    folder.mkdir()
    sample_docx(folder / "saravi.docx")
    (folder / "datos.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "LEEME").write_text("sin extensión", encoding="utf-8")
    (folder / "catalog.toml").write_text("", encoding="utf-8")  # kb's own file: not worth a warning
    (folder / ".oculto.xlsx").write_bytes(b"")
    result = CliRunner().invoke(cli_module.cli, ["ingest", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Indexados: 1" in result.output and "ignorados (extensión no admitida): 2" in result.output
    assert f"  ignorado: {folder / 'datos.xlsx'} (extensión no admitida: .xlsx)" in result.output.splitlines()
    assert f"  ignorado: {folder / 'LEEME'} (extensión no admitida: sin extensión)" in result.output.splitlines()
    assert "catalog.toml" not in result.output and ".oculto" not in result.output
