from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb.errors import ModelMismatchError
from kb.model.resolve import ModelInfo
from kb.store.vectors import VectorIndex

MODEL = ModelInfo("modelo-a", Path("/m/a"), 4, "sha256:" + "a" * 64, "prueba", "query: ", "passage: ")


def unit(rows):
    v = np.asarray(rows, np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_saved_index_finds_vectors_by_chunk_id(tmp_path):
    index = VectorIndex.create(tmp_path / "idx", MODEL)
    index.add(np.array([10, 20, 30]), unit([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]), MODEL)
    index.save()
    reopened = VectorIndex.open(tmp_path / "idx", MODEL)
    scores, ids = reopened.search(unit([[0, 0, 1, 0.9]]), 2)
    assert ids[0].tolist() == [30, 10] or ids[0][0] == 30
    assert len(reopened) == 3
    assert reopened.remove(np.array([30])) == 1
    assert reopened.search(unit([[0, 0, 1, 1]]), 1)[1][0][0] != 30


def test_index_refuses_vectors_of_another_model(tmp_path):
    index = VectorIndex.create(tmp_path / "idx", MODEL)
    index.add(np.array([1]), unit([[1, 0, 0, 0]]), MODEL)
    index.save()
    other = replace(MODEL, name="modelo-b", fingerprint="sha256:" + "b" * 64)
    with pytest.raises(ModelMismatchError) as error:
        VectorIndex.open(tmp_path / "idx", other)
    message = str(error.value)
    assert str(tmp_path / "idx") in message
    assert "modelo-a" in message and "modelo-b" in message
    assert "reindexar" in message and "KB_MODEL" in message
    with pytest.raises(ModelMismatchError):
        index.add(np.array([2]), unit([[0, 1, 0, 0]]), other)
    assert len(VectorIndex.open(tmp_path / "idx")) == 1


def test_index_refuses_vectors_of_another_dimension(tmp_path):
    index = VectorIndex.create(tmp_path / "idx", MODEL)
    with pytest.raises(ModelMismatchError, match="dimensión 3"):
        index.add(np.array([1]), unit([[1, 0, 0]]), MODEL)
    wider = replace(MODEL, dimension=8)
    with pytest.raises(ModelMismatchError, match="dimensión 8"):
        index.check_model(wider)


def test_an_index_file_beside_another_saves_manifest_is_refused(tmp_path):
    """Two processes saving at once could pair one's index with the other's manifest."""
    first = VectorIndex.create(tmp_path / "idx", MODEL)
    first.add(np.array([1]), unit([[1, 0, 0, 0]]), MODEL)
    first.save()
    manifest = (tmp_path / "idx" / "vectors.json").read_bytes()
    first.add(np.array([2]), unit([[0, 1, 0, 0]]), MODEL)
    first.save()
    (tmp_path / "idx" / "vectors.json").write_bytes(manifest)
    with pytest.raises(ValueError, match="no es el archivo que describe vectors.json"):
        VectorIndex.open(tmp_path / "idx", MODEL)


def test_search_leaves_faiss_threads_alone(tmp_path, monkeypatch):
    """A search never sets FAISS's OpenMP thread count: that is for the program using kb to choose."""
    import faiss

    def refuse(_):
        raise AssertionError("a search changed FAISS's thread count")

    index = VectorIndex.create(tmp_path / "idx", MODEL)
    index.add(np.array([10, 20, 30]), unit([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]), MODEL)
    threads = faiss.omp_get_max_threads()
    monkeypatch.setattr(faiss, "omp_set_num_threads", refuse)
    index.search(unit([[0, 0, 1, 0.9]]), 2)
    index.search(unit([[0, 0, 1, 0.9], [1, 0, 0, 0]]), 2)
    index.search(unit([[0, 0, 1, 0.9]]), 2, allowed=[10, 20])
    assert faiss.omp_get_max_threads() == threads
