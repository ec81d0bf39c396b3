"""Commands that need no vectors never load the model (importing torch alone takes ~11 s)."""

import subprocess
import sys

import pytest

from ingest.pipeline import ingest
from kb.index import KnowledgeBase
from kb.model.embedder import Embedder
from kb.model.resolve import resolve_model

TEXT = ("El mesoespacio institucional es la estructura de concertación entre actores locales que genera "
        "confianza y cooperación entre las pequeñas empresas del distrito industrial.")

PROBE = """
import sys
from click.testing import CliRunner
from kb.cli import cli
result = CliRunner().invoke(cli, sys.argv[1:])
assert result.exit_code == 0, result.output
print(result.output)
print("MODELO CARGADO" if "torch" in sys.modules or "sentence_transformers" in sys.modules else "SIN MODELO")
"""


@pytest.fixture(scope="module")
def library(tiny_model, tmp_path_factory):
    info = resolve_model(tiny_model)
    base = tmp_path_factory.mktemp("lazy")
    (base / "corpus").mkdir()
    (base / "corpus" / "nota.txt").write_text(TEXT, encoding="utf-8")
    kb = KnowledgeBase(base / "index", info)
    ingest(kb, Embedder(info), [base / "corpus"])
    kb.close()
    return base / "index"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("command", [
    ["search", "--mode", "lexical", "mesoespacio"],
    ["concepts"],
    ["concept", "mesoespacio"],
])
def test_commands_without_vectors_never_load_the_model(library, tiny_model, command):
    out = run(*command, "--index", str(library), "--model", str(tiny_model))
    assert out.rstrip().endswith("SIN MODELO"), out
    assert "mesoespacio" in out.lower()


def test_a_hybrid_search_does_load_it(library, tiny_model):
    out = run("search", "mesoespacio", "--index", str(library), "--model", str(tiny_model))
    assert out.rstrip().endswith("MODELO CARGADO") and "nota" in out
