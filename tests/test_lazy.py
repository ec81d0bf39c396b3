"""Commands load only what they need: no model without vectors, never torch to answer a query
(importing torch and sentence-transformers alone takes 10–15 s)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from kb.index import KnowledgeBase
from kb.model.embedder import Embedder
from kb.model.onnx_export import ensure_onnx
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
print("cargado:", " ".join(m for m in ("torch", "sentence_transformers", "onnxruntime", "pymupdf") if m in sys.modules))
"""

APP_PROBE = """
import sys
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
for address in ("biblioteca", "conceptos", "cuaderno"):
    at._page_hash = calc_hash(address)
    at.run()
    assert not at.exception, at.exception
print("sin buscar:", " ".join(m for m in ("torch", "onnxruntime") if m in sys.modules))
at._page_hash = calc_hash("buscar")
at.run()
at.text_input(key="q").input("mesoespacio").run()
assert not at.exception, at.exception
assert "nota" in "".join(m.value for m in at.markdown)
print("al buscar:", " ".join(m for m in ("torch", "onnxruntime") if m in sys.modules))
"""


@pytest.fixture(scope="module")
def library(tiny_model, tmp_path_factory):
    """An index made with the tiny model, and a cache that holds its ONNX copy."""
    info = resolve_model(tiny_model)
    base = tmp_path_factory.mktemp("lazy")
    (base / "corpus").mkdir()
    (base / "corpus" / "nota.txt").write_text(TEXT, encoding="utf-8")
    kb = KnowledgeBase(base / "index", info)
    ingest(kb, Embedder(info), [base / "corpus"])
    kb.close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_CACHE_DIR", str(base / "cache"))
        ensure_onnx(info)
    return base


def run(library: Path, tiny_model: Path, probe: str, *args: str) -> str:
    env = dict(os.environ, KB_CACHE_DIR=str(library / "cache"), KB_HOME=str(library / "index"),
               KB_MODEL=str(tiny_model))
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("command", [
    ["search", "--mode", "lexical", "mesoespacio"],
    ["concepts"],
    ["concept", "mesoespacio"],
    ["docs"],
    ["show", "nota"],
    ["doctor"],
])
def test_commands_without_vectors_load_no_model_and_no_pdf_reader(library, tiny_model, command):
    out = run(library, tiny_model, PROBE, *command)
    assert out.rstrip().splitlines()[-1] == "cargado:", out
    assert "mesoespacio" in out.lower() or "sano" in out.lower()


def test_a_hybrid_search_runs_the_model_on_onnx_without_torch(library, tiny_model):
    out = run(library, tiny_model, PROBE, "search", "mesoespacio")
    assert out.rstrip().splitlines()[-1] == "cargado: onnxruntime" and "nota" in out


def test_app_pages_that_do_not_search_load_no_model_and_searching_needs_no_torch(library, tiny_model):
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    out = run(library, tiny_model, APP_PROBE, app)
    loaded = {line.split(":")[0]: line.split(":")[1].split() for line in out.splitlines()
              if line.startswith(("sin buscar:", "al buscar:"))}
    assert loaded == {"sin buscar": [], "al buscar": ["onnxruntime"]}, out
