"""The Streamlit app, page by page, with streamlit's AppTest and the real model."""

import csv
import html
import io
import re
from pathlib import Path

import pymupdf
import pytest
from docx import Document
from streamlit.testing.v1 import AppTest

from ingest.pipeline import ingest
from kb import config
from kb.cite import exports
from kb.cite.notebook import Notebook, notebook_path
from kb.index import KnowledgeBase
from kb.store.db import Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SARAVI_CITATION = "Saraví &#40;1998&#41;&#46; Micro y pequeñas empresas"
# Each page's address in the navigation (http://localhost:8501/comparar).
ADDRESSES = {"Buscar": "buscar", "Comparar": "comparar", "Biblioteca": "biblioteca", "Conceptos": "conceptos",
             "Cuaderno": "cuaderno"}


@pytest.fixture(scope="module")
def home(real_model, real_embedder, tmp_path_factory):
    """An index of the bundled corpus plus a document with markup in it."""
    directory = tmp_path_factory.mktemp("home")
    extra = tmp_path_factory.mktemp("extra")
    pdf = pymupdf.open()
    for number in range(2):
        page = pdf.new_page()
        text = ("Segunda página del informe de prueba. La gobernanza de los parques tecnológicos andinos "
                "depende de consorcios universitarios y de agencias regionales de innovación."
                if number else "Portada del informe de prueba sobre parques tecnológicos.")
        page.insert_textbox(pymupdf.Rect(72, 72, 520, 400), text, fontsize=12)
    pdf.save(extra / "parques.pdf")
    (extra / "marcado.txt").write_text(
        "Nota sobre seguridad de la plataforma de clústeres: <script>alert('x')</script> y un enlace "
        "[pinche aquí](http://ejemplo.invalid) con *asteriscos* que deben verse tal cual.", encoding="utf-8")
    (extra / "referencias.txt").write_text(
        "La competitividad de los clústeres de la región depende de sus proveedores especializados.\n\n"
        "Bibliografía\n\nPorter, M. E. (1990). The Competitive Advantage of Nations. Nueva York: Free Press.\n\n"
        "Schmitz, H. (1995). Collective efficiency: growth path for small-scale industry. Journal of "
        "Development Studies, 31 (4), pp. 529-566.\n", encoding="utf-8")
    kb = KnowledgeBase(directory, real_model)
    ingest(kb, real_embedder, [config.bundled_corpus_dir(), extra])
    kb.close()
    return directory


@pytest.fixture
def app(home, real_model, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def page(at, name):
    """Open a page as its link in the navigation does. AppTest.switch_page only opens
    pages kept in files; the app's pages are functions, each registered by st.Page
    under the hash of its address."""
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(ADDRESSES[name])
    at.run()
    assert not at.exception, at.exception
    return at


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_search_shows_the_saravi_passage_with_its_citation(app):
    app.text_input(key="q").input("mesoespacio").run()
    assert not app.exception
    text = markdown(app)
    assert f"<b>[1] {SARAVI_CITATION}" in text
    assert "mesoespacio" in text and "Respuesta breve" in [s.value for s in app.subheader][0]
    assert ":blue-badge[mesoespacio]" in text


def test_extractive_answer_quotes_verbatim_with_numbers(app):
    app.text_input(key="q").input("¿Qué es el mesoespacio?").run()
    answer = next(m.value for m in app.markdown if m.value.startswith("«"))
    assert "<b>[1]</b>" in answer and "<b>[2]</b>" in answer


def test_a_query_that_asks_for_a_concept_gets_its_definition_card_above_the_answer(app):
    from kb.concepts.taxonomy import load_taxonomy

    app.text_input(key="q").input("¿Qué es la IAP?").run()
    assert not app.exception
    values = [m.value for m in app.markdown]
    card = next(i for i, v in enumerate(values) if v.startswith("<b>iniciativa de articulación productiva</b> · "))
    definition = load_taxonomy()["iap"].definition
    assert " ".join(definition.split()[:6]) in values[card] and "<small>" in values[card]  # a cited passage
    answer = next(i for i, v in enumerate(values) if v.startswith("«"))
    assert card < answer
    # Two concepts compared, or none named: no card.
    labels = {c.label for c in load_taxonomy()}
    for query in ("distrito industrial y clúster: diferencias", "¿Cuántos líderes participaron en las entrevistas?"):
        app.text_input(key="q").input(query).run()
        assert not any(v.startswith(f"<b>{label}</b> · ") for v in (m.value for m in app.markdown) for label in labels)


def test_query_comes_from_the_url(home, real_model, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["q"] = "mesoespacio"
    at.query_params["doc"] = "saravi-1998-distritos-mexico"
    at.run()
    assert at.text_input(key="q").value == "mesoespacio"
    assert at.multiselect(key="doc").value == ["saravi-1998-distritos-mexico"]
    assert SARAVI_CITATION in markdown(at)


def test_filters_narrow_results(app):
    app.text_input(key="q").input("cooperación entre empresas").run()
    app.multiselect(key="doc").set_value(["pillihuaman-2025-villa-el-salvador"]).run()
    heads = [m.value for m in app.markdown if m.value.startswith("<b>[")]
    assert heads and all("Pillihuaman Huamani &#40;2025&#41;" in h for h in heads)
    app.multiselect(key="doc").set_value([]).run()
    app.multiselect(key="concepto").set_value(["mesoespacio"]).run()  # labels are what users pick
    heads = [m.value for m in app.markdown if m.value.startswith("<b>[")]
    assert heads and all("Saraví" in h for h in heads)


def test_document_text_is_escaped(app):
    app.text_input(key="q").input("seguridad de la plataforma de clústeres enlace").run()
    text = markdown(app)
    assert "&lt;script&gt;alert" in text and "<script>" not in text
    assert "&#91;pinche aquí&#93;&#40;http" in text and "&#42;asteriscos&#42;" in text


def test_saved_passage_reaches_every_export(app, home):
    book = Notebook(notebook_path(home))
    for entry in book.entries():
        book.remove(entry.chunk_id)
    app.text_input(key="q").input("mesoespacio").run()
    add = next(b for b in app.button if b.key and b.key.startswith("add-"))
    add.click().run()
    assert not app.exception
    entries = Notebook(notebook_path(home)).entries()
    assert len(entries) == 1 and entries[0].doc_id == "saravi-1998-distritos-mexico"
    page(app, "Cuaderno")
    assert "Cuaderno de citas (1)" in [s.value for s in app.subheader]
    assert "Saraví, 1998" in markdown(app)
    store = Store(home)
    metas = store.metas([entries[0].doc_id])
    store.close()
    quote = entries[0].quote.split()[:8]
    md = exports.to_markdown(entries, metas)
    assert " ".join(quote) in " ".join(md.split()) and "Saraví, G. A. (1998)" in md
    docx = Document(io.BytesIO(exports.to_docx(entries, metas)))
    assert any("Saraví, G. A. (1998)" in p.text for p in docx.paragraphs)
    assert "Saraví" in exports.to_bibtex(entries, metas) and "AU  - Saraví, Gonzalo A." in exports.to_ris(entries, metas)
    rows = list(csv.DictReader(io.StringIO(exports.to_csv(entries, metas).removeprefix("\ufeff"))))
    assert rows[0]["cita_textual"] == entries[0].quote


def test_every_page_opens_from_the_navigation_and_reading_writes_nothing(app, home):
    def files():
        return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in home.iterdir()
                if not p.name.endswith(("-wal", "-shm"))}

    before = files()
    headings = {"Buscar": None, "Comparar": None, "Biblioteca": "Documentos (8)", "Conceptos": "Concepto × documento",
                "Cuaderno": None}
    for name, heading in headings.items():
        page(app, name)
        if heading:
            assert heading in [s.value for s in app.subheader]
    assert files() == before


def test_library_lists_documents_and_concepts(app):
    page(app, "Biblioteca")
    table = app.dataframe[0].value
    assert len(table) == 8
    saravi = table[table["documento"] == "saravi-1998-distritos-mexico"].iloc[0]
    assert saravi["año"] == "1998" and "mesoespacio" in saravi["conceptos principales"]
    # Labels, as the taxonomy writes them, not ids: «distrito industrial», not «distrito-industrial».
    assert "distrito industrial" in saravi["conceptos principales"]
    assert not any("-" in concept for row in table["conceptos principales"] for concept in row.split(", "))
    assert "None" not in set(table["año"]) and "s. f." in set(table["año"])


def test_concepts_page_shows_definition_and_passages(app):
    page(app, "Conceptos")
    app.selectbox(key="ver_concepto").set_value("mesoespacio").run()
    assert not app.exception
    text = markdown(app)
    assert "Saraví &#40;1998&#41;" in text
    assert any("mesoespacio" in m.value for m in app.markdown if m.value.startswith("### "))


def test_a_bibliography_is_searched_only_when_asked_and_says_what_it_is(app):
    app.text_input(key="q").input("Competitive Advantage of Nations Free Press Schmitz collective efficiency").run()
    assert ":gray-badge[bibliografía]" not in markdown(app)
    app.checkbox(key="todo").check().run()
    assert not app.exception, app.exception
    assert ":gray-badge[bibliografía]" in markdown(app)


def test_an_index_of_an_older_chunker_is_updated_on_opening(home, real_model, tmp_path, monkeypatch):
    import shutil

    from kb.store.db import Store

    old = tmp_path / "viejo"
    shutil.copytree(home, old)
    store = Store(old)
    with store.atomic():
        store.set_setting("chunking", "0")
    store.close()
    monkeypatch.setenv("KB_HOME", str(old))
    monkeypatch.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert any(m.value.startswith("El índice se hizo con una versión anterior de kb") for m in at.markdown)
    at.text_input(key="q").input("mesoespacio").run()
    assert SARAVI_CITATION in markdown(at)
    at.run()  # updated once: the next run says nothing
    assert not any(m.value.startswith("El índice se hizo") for m in at.markdown)


def test_context_shows_the_pdf_page_with_the_passage(app):
    app.text_input(key="q").input("gobernanza de los parques tecnológicos andinos").run()
    toggle = next(t for t in app.toggle if t.key.startswith("ctx-"))
    assert "parques" in markdown(app)
    toggle.set_value(True).run()
    assert not app.exception, app.exception
    captions = [c for image in app.image for c in image.captions]
    assert "Página 2" in captions  # found and highlighted: no warning in the caption


def test_upload_indexes_good_files_reports_bad_ones_and_metadata_is_editable(home, real_model, monkeypatch,
                                                                             tmp_path):
    import shutil

    from kb.cite.catalog import load_catalog

    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    monkeypatch.setenv("KB_HOME", str(copy))
    monkeypatch.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    page(at, "Biblioteca")
    at.get("file_uploader")[0].set_value([
        ("../nota de campo.txt", "La feria de artesanías de Pisac reúne a cuarenta talleres asociados.".encode(),
         "text/plain"),
        ("informe.pdf", b"<!DOCTYPE html><html>Access Denied</html>", "application/pdf"),
    ])
    at.run()
    at.button(key="indexar").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "informe.pdf: el contenido no corresponde a la extensión .pdf (parece una página HTML)"]
    stored = copy / "documentos" / "nota-de-campo.txt"
    assert stored.is_file()
    report = at.dataframe[-1].value
    assert list(report["archivo"]) == ["nota-de-campo.txt"] and list(report["resultado"]) == ["indexado"]

    at.selectbox(key="editar_doc").set_value("nota-de-campo").run()
    at.text_input(key="titulo-nota-de-campo").input("Feria de Pisac")
    at.text_area(key="autores-nota-de-campo").input("Quispe, Ana")
    at.text_input(key="anio-nota-de-campo").input("2024")
    at.button[-1].click().run()
    assert not at.exception, at.exception
    assert any("guardados en el catálogo" in s.value for s in at.success)
    entry = load_catalog(copy / "documentos" / "catalog.toml")["nota-de-campo.txt"]
    assert (entry.title, entry.authors, entry.year) == ("Feria de Pisac", ("Quispe, Ana",), 2024)


def test_compare_page_builds_the_district_vs_cluster_table_and_saves_a_preset(app, home):
    from kb.ask.presets import load_presets

    page(app, "Comparar")
    app.selectbox(key="tabla").set_value("Distrito industrial vs clúster").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert list(table.columns) == ["aspecto", "distrito industrial", "clúster"] and len(table) == 8
    assert (table["distrito industrial"].str.startswith("«")).sum() >= 4
    assert [b.label for b in app.get("download_button")] == ["CSV", "Markdown (APA)", "XLSX"]
    # «Ver una celda»: the passage, with the quoted sentence marked in it.
    shown = next(m.value for m in app.markdown if "<div class='pasaje'>" in m.value)
    marked = re.findall(r'<mark class="c">(.*?)</mark>', shown, re.S)
    assert len(marked) == 1
    quoted = app.selectbox(key="celda-Distrito industrial vs clúster").value
    cell = table.set_index("aspecto").loc[quoted.split(" · ")[0], quoted.split(" · ")[1]]
    first_words = " ".join(cell.removeprefix("«").split()[:5])
    assert " ".join(html.unescape(re.sub(r"<br>", " ", marked[0])).split()).startswith(first_words)
    app.text_input(key="nueva-tabla").input("Mi comparación").run()
    app.button(key="guardar-tabla").click().run()
    assert "mi-comparacion" in load_presets(home)


def test_first_use_shows_its_stages_in_one_display_and_then_the_search_box(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(tmp_path / "datos"))
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KB_MODEL", str(tiny_model))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    said = [m.value for m in at.markdown]
    stages = [said.index(m) for m in said if m.startswith(("Preparando el modelo", "Indexando el corpus"))]
    assert len(stages) == 2 and stages == sorted(stages)
    [bar] = at.get("progress")
    assert bar.proto.value == 100 and "archivo 5 de 5" in bar.proto.text and "fragmentos en total" in bar.proto.text
    assert at.text_input(key="q")  # ready: the search box is there
