"""Concepts over the indexed bundled corpus: tags on hits, --tag filters, alias
expansion, re-tagging when the taxonomy changes, `kb concepts` and `kb concept`."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from kb import cli as cli_module
from kb.ask.search import expand_query, search
from kb.concepts.report import concept_matrix, concept_report
from kb.concepts.taxonomy import FRAMEWORKS, load_taxonomy
from kb.index import KnowledgeBase
from kb.records import Filters
from tests.fakes import FAKE_MODEL, FakeEmbedder

SARAVI = "saravi-1998-distritos-mexico"
CEPAL = "cepal-sercotec-2025-mipymes-chile"


def test_bundled_taxonomy_covers_the_field():
    taxonomy = load_taxonomy()
    assert len(taxonomy) >= 30
    for cid in ("porter", "cluster", "diamante-porter", "becattini", "distrito-industrial", "mesoespacio",
                "iap", "investigacion-accion-participativa", "eficiencia-colectiva", "subsidiariedad"):
        concept = taxonomy[cid]
        assert concept.definition and concept.framework in FRAMEWORKS
    assert "IAP" in taxonomy["iap"].aliases and "IAP" in taxonomy["investigacion-accion-participativa"].aliases
    assert "investigacion-accion-participativa" in taxonomy["iap"].not_confused_with


def test_every_listed_document_really_has_tagged_passages(indexed):
    counts = indexed.store.concept_counts()
    for concept in indexed.taxonomy:
        for doc_id in concept.documents:
            assert counts.get(concept.id, {}).get(doc_id), (concept.id, doc_id)


def test_hits_carry_their_tags(indexed):
    hit = search(indexed, FakeEmbedder(), "mesoespacio institucional", k=1, mode="lexical")[0]
    assert hit.chunk.doc_id == SARAVI and "mesoespacio" in hit.tags


def test_ocr_split_mesoespacio_is_tagged_in_saravi(indexed):
    report = concept_report(indexed, "mesoespacio", k=50)
    assert any("me so espacio" in p.evidence for p in report.passages)
    assert all(p.doc_id == SARAVI for p in report.passages)


def test_iap_in_the_cepal_document_is_the_productive_articulation_initiative(indexed):
    counts = indexed.store.concept_counts()
    assert counts["iap"].get(CEPAL, 0) >= 3
    assert CEPAL not in counts.get("investigacion-accion-participativa", {})


@pytest.mark.parametrize("mode", ["lexical", "dense", "hybrid"])
def test_tag_filter_keeps_only_passages_with_every_tag(indexed, mode):
    hits = search(indexed, FakeEmbedder(), "cooperación y confianza", k=10, mode=mode,
                  filters=Filters(tags=("distrito-industrial", "confianza")))
    assert hits
    assert all({"distrito-industrial", "confianza"} <= set(h.tags) for h in hits)


def test_acronym_query_finds_the_spelled_out_concept(indexed):
    expansion = expand_query(indexed, "IAP")
    assert expansion.concepts == ("iap",)
    hits = search(indexed, FakeEmbedder(), "IAP", k=5, mode="lexical")
    assert hits and all("iap" in h.tags for h in hits)
    assert any("articulación productiva" in h.chunk.text.lower() for h in hits)


def test_misspelt_author_finds_becattini(indexed):
    without = search(indexed, FakeEmbedder(), "Becatini", k=5, mode="lexical", expand=False)
    assert without == []
    hits = search(indexed, FakeEmbedder(), "Becatini", k=5, mode="lexical")
    assert hits and "Becattini" in hits[0].chunk.text


def test_changing_the_taxonomy_retags_without_reembedding(indexed, tmp_path):
    directory = tmp_path / "idx"
    shutil.copytree(indexed.directory, directory)
    before = KnowledgeBase(directory, FAKE_MODEL)
    vectors = before.store.all_vectors(FAKE_MODEL.dimension)[1].copy()
    generation = before.generation
    assert not before.store.best_passages("enfoque-nuevo", 5)
    before.close()
    (directory / "concepts.toml").write_text(
        '[[concept]]\nid = "enfoque-nuevo"\nlabel = "atmósfera sociocultural"\nframework = "distrito industrial"\n',
        encoding="utf-8")
    after = KnowledgeBase(directory, FAKE_MODEL)
    try:
        ids = after.store.best_passages("enfoque-nuevo", 5)
        assert ids and "atmósfera sociocultural" in after.store.chunks(ids)[ids[0]].text
        assert after.generation == generation
        assert np.array_equal(after.store.all_vectors(FAKE_MODEL.dimension)[1], vectors)
        assert not after.retag_if_changed()  # the second opening has nothing to do
    finally:
        after.close()


def test_concept_matrix_counts_passages_per_document(indexed):
    matrix = {row["id"]: row for row in concept_matrix(indexed)}
    assert set(matrix) == {c.id for c in indexed.taxonomy}
    assert matrix["mesoespacio"]["documents"].get(SARAVI, 0) >= 2
    assert matrix["mesoespacio"]["framework"] == indexed.taxonomy["mesoespacio"].framework


def _use(monkeypatch, kb):
    monkeypatch.setattr(cli_module, "_open_kb", lambda *_: (KnowledgeBase(kb.directory, FAKE_MODEL), FakeEmbedder()))


def test_cli_concepts_json(indexed, monkeypatch):
    _use(monkeypatch, indexed)
    result = CliRunner().invoke(cli_module.cli, ["concepts", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    row = next(c for c in data["concepts"] if c["id"] == "mesoespacio")
    assert set(row) == {"id", "label", "framework", "documents"}
    assert row["documents"][SARAVI] >= 2


def test_cli_concept_shows_definition_and_cited_passages(indexed, monkeypatch):
    _use(monkeypatch, indexed)
    result = CliRunner().invoke(cli_module.cli, ["concept", "mesoespacio", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert indexed.taxonomy["mesoespacio"].definition[:40] in " ".join(result.output.split())
    assert "[1] Saraví (1998). Micro y pequeñas empresas" in result.output
    assert "Evidencia: " in result.output


def test_cli_search_by_tag_and_unknown_tag(indexed, monkeypatch):
    _use(monkeypatch, indexed)
    ok = CliRunner().invoke(cli_module.cli, ["search", "instituciones", "--tag", "mesoespacio", "--json"])
    assert ok.exit_code == 0, ok.output
    hits = json.loads(ok.output)["hits"]
    assert hits and all("mesoespacio" in h["tags"] for h in hits)
    bad = CliRunner().invoke(cli_module.cli, ["search", "x", "--tag", "mesoespasio"])
    assert bad.exit_code == 1
    assert "Concepto desconocido: 'mesoespasio'. ¿Quiso decir 'mesoespacio'?" in bad.output


def test_cli_docs_lists_each_documents_main_concepts(indexed):
    result = CliRunner().invoke(cli_module.cli, ["docs", "--index", str(indexed.directory)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(SARAVI))
    block = lines[start + 1:start + 4]
    main = next(line for line in block if "Conceptos principales:" in line)
    assert "distrito-industrial (" in main


def test_cli_concept_unknown_says_so_with_a_suggestion(indexed, monkeypatch):
    _use(monkeypatch, indexed)
    bad = CliRunner().invoke(cli_module.cli, ["concept", "becatinni"])  # "becatini" is a known alias
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "Concepto desconocido: 'becatinni'. ¿Quiso decir 'becattini'?" in bad.output


@pytest.mark.parametrize("name", ["IAP", "iap", "Distrito Industrial", "distrito industrial",
                                  "POLÍTICA DE DESARROLLO PRODUCTIVO", "politica de desarrollo productivo",
                                  "iniciativas de articulación productiva territorial"])
def test_a_concept_is_found_by_id_label_alias_or_acronym_in_any_case_and_accents(indexed, monkeypatch, name):
    _use(monkeypatch, indexed)
    expected = indexed.taxonomy.require(name)
    result = CliRunner().invoke(cli_module.cli, ["concept", name, "--k", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{expected.label} [{expected.id}]")
    assert expected.id in {"iap", "distrito-industrial", "politica-desarrollo-productivo"}
    tagged = CliRunner().invoke(cli_module.cli, ["search", "políticas", "--tag", name, "--json"])
    assert tagged.exit_code == 0, tagged.output
    assert all(expected.id in hit["tags"] for hit in json.loads(tagged.output)["hits"])


def test_cli_search_opens_with_the_definition_of_the_concept_asked_about(indexed, monkeypatch):
    _use(monkeypatch, indexed)
    asked = CliRunner().invoke(cli_module.cli, ["search", "¿Qué es el mesoespacio?", "--k", "1"])
    assert asked.exit_code == 0, asked.output
    first = " ".join(asked.output.split("[1]")[0].split())
    assert f"mesoespacio: {' '.join(indexed.taxonomy['mesoespacio'].definition.split()[:8])}" in first
    compared = CliRunner().invoke(cli_module.cli, ["search", "distrito industrial y clúster: diferencias", "--k", "1"])
    assert compared.output.split("\n")[1].startswith("[1] ")  # two concepts, no question of definition: no card
