"""Search over the bundled corpus with the fake embedder: passages, citations, filters, JSON."""

import json
import shutil

import pytest
from click.testing import CliRunner

from kb import cli as cli_module
from kb.ask.search import fuse, search
from kb.cite.apa import locator, short_citation
from kb.index import KnowledgeBase
from kb.records import DocumentMeta, Filters
from tests.fakes import FAKE_MODEL, FakeEmbedder


def test_fusion_rewards_agreement_and_keeps_a_clear_lexical_winner():
    lexical, dense = [(1, 9.0), (2, 8.5), (3, 1.0)], [(3, 0.80), (1, 0.70), (4, 0.50)]
    assert [i for i, _ in fuse(lexical, dense, 0.5)][:2] == [1, 3]
    assert [i for i, _ in fuse(lexical, dense, 0.1)][0] == 3  # an English question leans on the vectors
    assert fuse([], dense, 0.5)[0] == (3, 0.5)


def test_english_questions_are_told_from_spanish_ones():
    from kb.text.analysis import is_english

    assert is_english("What is the role of trust in industrial districts?")
    assert not is_english("¿Qué papel tiene la confianza en los distritos industriales?")
    assert not is_english("Becattini distrito industrial comunidad")


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_mesoespacio_finds_the_sarvi_passage_with_its_citation(indexed, mode):
    hits = search(indexed, FakeEmbedder(), "mesoespacio institucional", k=5, mode=mode)
    top = hits[0]
    assert top.chunk.doc_id == "saravi-1998-distritos-mexico"
    assert "espacio" in top.chunk.text
    assert top.citation.startswith("Saraví (1998). Micro y pequeñas empresas en los distritos industriales de México")
    assert ", párr" in top.citation  # a text file without pages is cited by paragraph


def test_lexical_search_ignores_accents_and_case(indexed):
    a = search(indexed, FakeEmbedder(), "COOPERACION ENTRE EMPRESAS", k=5, mode="lexical")
    b = search(indexed, FakeEmbedder(), "cooperación entre empresas", k=5, mode="lexical")
    assert [h.chunk.chunk_id for h in a] == [h.chunk.chunk_id for h in b]


def test_filters_narrow_results(indexed):
    for mode in ("lexical", "dense", "hybrid"):
        by_doc = search(indexed, FakeEmbedder(), "clúster", k=10, mode=mode,
                        filters=Filters(doc_ids=("pillihuaman-2025-villa-el-salvador",)))
        assert by_doc and {h.chunk.doc_id for h in by_doc} == {"pillihuaman-2025-villa-el-salvador"}
        by_year = search(indexed, FakeEmbedder(), "clúster", k=10, mode=mode, filters=Filters(years=(1998,)))
        assert {h.meta.year for h in by_year} == {1998}
        by_author = search(indexed, FakeEmbedder(), "clúster", k=10, mode=mode, filters=Filters(authors=("saraví",)))
        assert {h.chunk.doc_id for h in by_author} == {"saravi-1998-distritos-mexico"}


@pytest.mark.parametrize("meta, where, expected", [
    (DocumentMeta(title="T", authors=("Saraví, Gonzalo A.",), year=1998), "p. 4", "Saraví (1998). T, p. 4"),
    (DocumentMeta(title="T", authors=("A, B", "C, D")), "p. 4", "A y C (s. f.). T, p. 4"),
    (DocumentMeta(title="T", authors=("A, B", "C, D", "E, F"), year=2006), "p. 1", "A et al. (2006). T, p. 1"),
    (DocumentMeta(year=2018), "párr. 3", "doc-x (2018), párr. 3"),
])
def test_citation_never_invents(meta, where, expected):
    assert short_citation(meta, "doc-x", where) == expected


def test_locators():
    assert locator(4, 4, 1, 1) == "p. 4"
    assert locator(4, 5, 1, 1) == "pp. 4–5"
    assert locator(None, None, 7, 7) == "párr. 7"
    assert locator(None, None, 7, 9) == "párrs. 7–9"


def test_cli_search_json_one_object_per_query_in_order(indexed, monkeypatch):
    monkeypatch.setattr(cli_module, "_open_kb", lambda *_: (KnowledgeBase(indexed.directory, FAKE_MODEL), FakeEmbedder()))
    result = CliRunner().invoke(cli_module.cli, ["search", "mesoespacio", "Porter diamante", "--json", "--k", "3"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["query"] for line in lines] == ["mesoespacio", "Porter diamante"]
    hit = lines[0]["hits"][0]
    assert set(hit) == {"rank", "score", "chunk_id", "doc_id", "title", "authors", "year", "citation", "reference",
                        "locator", "page", "page_end", "paragraph", "paragraph_end", "ocr", "text", "kind", "tags"}
    assert hit["rank"] == 1 and hit["doc_id"] == "saravi-1998-distritos-mexico"
    assert hit["page"] is None and hit["year"] == 1998 and hit["authors"] == ["Saraví, Gonzalo A."]
    # A text file has no pages: the citation points to its paragraphs, as the locator says.
    where = (f"párr. {hit['paragraph']}" if hit["paragraph"] == hit["paragraph_end"]
             else f"párrs. {hit['paragraph']}–{hit['paragraph_end']}")
    assert hit["locator"] == where and hit["citation"].startswith("Saraví (1998). Micro y pequeñas empresas")
    assert hit["citation"].endswith(where) and not hit["ocr"]
    assert hit["reference"].startswith("Saraví, G. A. (1998). Micro y pequeñas empresas")


def test_cli_search_human_output_has_numbered_citations(indexed, monkeypatch):
    monkeypatch.setattr(cli_module, "_open_kb", lambda *_: (KnowledgeBase(indexed.directory, FAKE_MODEL), FakeEmbedder()))
    result = CliRunner().invoke(cli_module.cli, ["search", "mesoespacio", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert "[1] Saraví (1998). Micro y pequeñas empresas" in result.output
    assert "[2] " in result.output


def test_cli_ingest_exit_codes_and_summary(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_open_kb", lambda *_: (KnowledgeBase(tmp_path / "idx", FAKE_MODEL), FakeEmbedder()))
    bad = tmp_path / "roto.pdf"
    bad.write_text("<html>Access Denied</html>")
    nothing = CliRunner().invoke(cli_module.cli, ["ingest", str(bad)])
    assert nothing.exit_code == cli_module.NOTHING_INDEXED
    assert f"✗ {bad}: no es un PDF (parece una página HTML)" in nothing.output
    good = tmp_path / "nota.txt"
    good.write_text("La cooperación entre empresas del distrito genera confianza.", encoding="utf-8")
    some = CliRunner().invoke(cli_module.cli, ["ingest", str(bad), str(good)])
    assert some.exit_code == 0
    assert "Indexados: 1" in some.output and "fallidos: 1" in some.output


def test_index_location_follows_kb_home_then_option(tmp_path, monkeypatch):
    from kb.config import index_dir

    monkeypatch.setenv("KB_HOME", str(tmp_path / "home"))
    assert index_dir() == tmp_path / "home"
    assert index_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("KB_HOME")
    assert index_dir().name == "kb"


def test_docs_and_show(indexed, monkeypatch):
    docs = CliRunner().invoke(cli_module.cli, ["docs", "--index", str(indexed.directory)])
    assert docs.exit_code == 0
    assert "saravi-1998-distritos-mexico  [txt, 1 página, " in docs.output
    assert "Saraví, Gonzalo A. (1998). Micro y pequeñas empresas" in docs.output
    assert "autor desconocido (s. f.). sin título" in docs.output  # FOMIN/BID: nothing invented
    show = CliRunner().invoke(cli_module.cli, ["show", "saravi-1998-distritos-mexico", "--index", str(indexed.directory)])
    assert show.exit_code == 0 and "mesoespacio" in show.output
    missing = CliRunner().invoke(cli_module.cli, ["show", "nada", "--index", str(indexed.directory)])
    assert missing.exit_code == 1 and "No existe el documento 'nada'" in missing.output


def test_cli_ingest_of_a_folder_without_documents_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_module, "_open_kb", lambda *_: (KnowledgeBase(tmp_path / "idx", FAKE_MODEL), FakeEmbedder()))
    empty = tmp_path / "vacia"
    empty.mkdir()
    (empty / "foto.jpg").write_bytes(b"\xff\xd8")
    result = CliRunner().invoke(cli_module.cli, ["ingest", str(empty)])
    assert result.exit_code == cli_module.NOTHING_INDEXED
    assert f"No hay archivos PDF, TXT, MD, DOCX, ODT, EPUB o HTML en: {empty}" in result.output
    assert f"ignorado: {empty / 'foto.jpg'} (extensión no admitida: .jpg)" in result.output


def test_english_plural_meets_the_spanish_singular(indexed):
    # The Peruvian study writes "clúster" 44 times and "clústers" once.
    hits = search(indexed, FakeEmbedder(), "clusters", k=5, mode="lexical",
                  filters=Filters(doc_ids=("pillihuaman-2025-villa-el-salvador",)))
    assert len(hits) == 5 and sum("clúster " in h.chunk.text for h in hits) >= 3


def test_index_written_by_an_older_analyser_is_reanalysed(indexed, tmp_path):
    directory = tmp_path / "idx"
    shutil.copytree(indexed.directory, directory)
    old = KnowledgeBase(directory, FAKE_MODEL)
    with old.store.atomic():
        old.store.db.execute("UPDATE chunks SET analyzed = 'nada'")
        old.store.db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")
        old.store.set_setting("analyzer", "0")
    assert search(old, FakeEmbedder(), "mesoespacio", k=3, mode="lexical") == []
    old.close()
    reopened = KnowledgeBase(directory, FAKE_MODEL)
    try:
        hits = search(reopened, FakeEmbedder(), "mesoespacio", k=3, mode="lexical")
        assert hits and hits[0].chunk.doc_id == "saravi-1998-distritos-mexico"
    finally:
        reopened.close()


def test_kb_show_paragraph_shows_the_paragraphs_a_citation_points_to(indexed):
    hit = search(indexed, FakeEmbedder(), "mesoespacio institucional", k=1, mode="lexical")[0]
    assert hit.chunk.page_start is None  # a text file: cited by paragraph
    wanted = f"{hit.chunk.paragraph_start}-{hit.chunk.paragraph_end}"
    result = CliRunner().invoke(cli_module.cli, ["show", hit.chunk.doc_id, "--paragraph", wanted,
                                                 "--index", str(indexed.directory)])
    assert result.exit_code == 0, result.output
    assert f"--- párr. {hit.chunk.paragraph_start}\n" in result.output
    shown = " ".join(result.output.split())
    assert " ".join(hit.chunk.text.split()) in shown
    missing = CliRunner().invoke(cli_module.cli, ["show", hit.chunk.doc_id, "--paragraph", "9999",
                                                  "--index", str(indexed.directory)])
    assert missing.exit_code == 1 and f"{hit.chunk.doc_id} no tiene el párrafo 9999." in missing.output
