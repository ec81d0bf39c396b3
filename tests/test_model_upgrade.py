"""An index made with an earlier version of the model in use (the base model before kb's
adapter) has its vectors computed again, once, with a message and progress; an index of
an unrelated model is still refused."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import kb.cli as cli_module
from ingest.pipeline import REEMBEDDING, documents_to_upgrade, ingest, reembed_if_model_changed, upgrade_passages
from kb.ask.search import search
from kb.config import bundled_corpus_dir
from kb.errors import ModelMismatchError
from kb.index import KnowledgeBase
from kb.model.resolve import ModelInfo
from kb.store.vectors import VectorIndex
from tests.fakes import DIMENSION, FAKE_MODEL, FakeEmbedder

ADAPTED = ModelInfo("fake-hash + adaptador kb", FAKE_MODEL.path, DIMENSION, "sha256:" + "a" * 64, "tests",
                    "query: ", "passage: ")
UNRELATED = ModelInfo("otro-modelo", FAKE_MODEL.path, DIMENSION, "sha256:" + "b" * 64, "tests",
                      "query: ", "passage: ")


class AdaptedEmbedder(FakeEmbedder):
    """Other vectors for the same texts, as a new version of a model gives."""
    info = ADAPTED

    def _vector(self, text):
        return np.roll(super()._vector(text), 1)


@pytest.fixture
def old_index(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(bundled_corpus_dir(), corpus)
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), [corpus])
    kb.close()
    return tmp_path / "index"


def test_an_index_of_an_earlier_model_version_is_embedded_again_once(old_index):
    assert documents_to_upgrade(old_index, ADAPTED) == 5
    messages, seen = [], []
    embedder = AdaptedEmbedder()
    assert upgrade_passages(old_index, ADAPTED, embedder, notify=messages.append, progress=seen.append) == 5
    assert messages == [REEMBEDDING.format(old="fake-hash", new="fake-hash + adaptador kb", n=5)]
    assert seen[-1].files_done == 5 and seen[-1].chunks == embedder.calls > 0

    kb = KnowledgeBase.read(old_index, ADAPTED)
    try:
        assert kb.store.get_setting("model_fingerprint") == ADAPTED.fingerprint
        assert kb.store.get_setting("model_name") == ADAPTED.name
        rows = kb.store.chunks(kb.store.chunk_ids())
        ids, matrix = kb.store.all_vectors(DIMENSION)
        expected = AdaptedEmbedder().encode_passages([rows[int(i)].text for i in ids])
        np.testing.assert_allclose(matrix, expected, atol=1e-6)
        hits = search(kb, AdaptedEmbedder(), "mesoespacio institucional", k=3, mode="dense")
        assert hits[0].chunk.doc_id == "saravi-1998-distritos-mexico"
    finally:
        kb.close()
    # The FAISS cache was saved for the new model: readers do not rebuild it each time.
    assert VectorIndex.open(old_index, ADAPTED).manifest.model_fingerprint == ADAPTED.fingerprint

    assert documents_to_upgrade(old_index, ADAPTED) == 0
    assert upgrade_passages(old_index, ADAPTED, AdaptedEmbedder(), notify=messages.append) == 0
    assert len(messages) == 1


def test_an_interrupted_reembedding_goes_on_where_it_stopped(old_index):
    class Failing(AdaptedEmbedder):
        def encode_passages(self, texts):
            if self.calls >= 120:  # part-way through the library
                raise RuntimeError("corte de luz")
            return super().encode_passages(texts)

    with pytest.raises(RuntimeError):
        reembed_if_model_changed(old_index, ADAPTED, Failing())
    # Still the old model's index: it opens with it, whole, and the upgrade is still pending.
    kb = KnowledgeBase.read(old_index, FAKE_MODEL)
    done = kb.store.db.execute("SELECT count(*) FROM settings WHERE key LIKE 'reembedded:%'").fetchone()[0]
    total = kb.store.chunk_count()
    kb.close()
    assert 1 <= done < 5
    assert documents_to_upgrade(old_index, ADAPTED) == 5
    rest = AdaptedEmbedder()
    assert reembed_if_model_changed(old_index, ADAPTED, rest) == 5 - done  # those done before are not redone
    assert rest.calls < total
    kb = KnowledgeBase.read(old_index, ADAPTED)
    try:
        rows = kb.store.chunks(kb.store.chunk_ids())
        ids, matrix = kb.store.all_vectors(DIMENSION)
        expected = AdaptedEmbedder().encode_passages([rows[int(i)].text for i in ids])
        np.testing.assert_allclose(matrix, expected, atol=1e-6)
    finally:
        kb.close()


def test_vectors_of_an_unrelated_model_are_still_refused(old_index):
    assert documents_to_upgrade(old_index, UNRELATED) == 0
    assert reembed_if_model_changed(old_index, UNRELATED, FakeEmbedder()) == 0
    with pytest.raises(ModelMismatchError, match="no se mezclan vectores de modelos distintos"):
        KnowledgeBase.read(old_index, UNRELATED)


def test_cli_search_says_it_recomputes_the_vectors_and_then_answers(old_index, monkeypatch):
    import kb.model.embedder as embedder_module
    import kb.model.resolve as resolve_module

    monkeypatch.setattr(resolve_module, "resolve_model", lambda *_: ADAPTED)
    monkeypatch.setattr(embedder_module, "LazyEmbedder", lambda info, **_: AdaptedEmbedder())
    result = CliRunner().invoke(cli_module.cli, ["search", "mesoespacio institucional", "--index", str(old_index),
                                                 "--mode", "dense"])
    assert result.exit_code == 0, result.output
    assert "se vuelven a calcular con fake-hash + adaptador kb los vectores de sus 5 documentos" in result.output
    assert "[1] " in result.output
    again = CliRunner().invoke(cli_module.cli, ["search", "mesoespacio", "--index", str(old_index)])
    assert again.exit_code == 0 and "se vuelven a calcular" not in again.output


def test_cli_ingest_into_an_index_of_an_earlier_model_version_recomputes_it_first(old_index, tmp_path, monkeypatch):
    import kb.model.embedder as embedder_module
    import kb.model.resolve as resolve_module

    monkeypatch.setattr(resolve_module, "resolve_model", lambda *_: ADAPTED)
    monkeypatch.setattr(embedder_module, "LazyEmbedder", lambda info, **_: AdaptedEmbedder())
    note = tmp_path / "nota.txt"
    note.write_text("El mesoespacio articula a las empresas de un territorio con sus instituciones. " * 8,
                    encoding="utf-8")
    result = CliRunner().invoke(cli_module.cli, ["ingest", str(note), "--index", str(old_index)])
    assert result.exit_code == 0, result.output
    assert "se vuelven a calcular con fake-hash + adaptador kb" in result.output
    kb = KnowledgeBase.read(old_index, ADAPTED)
    try:
        assert len(kb.store.documents()) == 6
        ids, matrix = kb.store.all_vectors(DIMENSION)
        assert len(ids) == kb.store.chunk_count()
    finally:
        kb.close()
