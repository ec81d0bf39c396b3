"""The real model, end to end, through the CLI: the first search indexes the bundled
corpus and answers with cited, tagged passages; concepts are browsable."""

import json

import pytest
from click.testing import CliRunner

from kb.cli import cli


@pytest.fixture(scope="module")
def home(real_model, tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def run(real_model, home, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
    monkeypatch.setenv("KB_HOME", str(home))

    def invoke(*args):
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_first_search_indexes_the_bundled_corpus_and_cites(run):
    output = run("search", "¿Qué es el mesoespacio institucional?", "--k", "3")
    assert "[1] Saraví (1998). Micro y pequeñas empresas en los distritos industriales de México" in output
    assert "Conceptos: " in output and "mesoespacio" in output


def test_acronym_query_finds_the_cepal_initiatives(run):
    line = run("search", "¿Cuántas IAP hay en América Latina?", "--json", "--k", "5")
    hits = json.loads(line)["hits"]
    assert hits[0]["doc_id"] == "cepal-sercotec-2025-mipymes-chile"
    assert any("381 iniciativas" in h["text"] and "iap" in h["tags"] for h in hits)


def test_concept_matrix_and_concept_page(run):
    matrix = json.loads(run("concepts", "--json"))["concepts"]
    iap = next(c for c in matrix if c["id"] == "iap")
    assert set(iap["documents"]) == {"cepal-sercotec-2025-mipymes-chile"}
    page = run("concept", "iap", "--k", "1")
    assert page.startswith("iniciativa de articulación productiva [iap]")
    assert "[1] CEPAL y SERCOTEC (2025)" in page
