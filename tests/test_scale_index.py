"""Large-library indexes at a small forced threshold: the approximate vector index
(IVF) and the in-memory BM25 must answer like the exact ones the product relies on."""

import json

import numpy as np
import pytest

from kb.ask.search import search
from kb.model.resolve import ModelInfo
from kb.records import Filters
from kb.store import lexical
from kb.store import vectors as vector_module
from kb.store.vectors import VectorIndex
from kb.text.analysis import fts_query
from tests.fakes import FAKE_MODEL, FakeEmbedder

MODEL = ModelInfo("modelo-a", FAKE_MODEL.path, 16, "sha256:" + "a" * 64, "prueba", "query: ", "passage: ")


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setenv("KB_EXACT_MAX", "100")


def clustered(count, seed=0, dimension=16):
    """Unit vectors around 20 centres, like passages on a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dimension))
    v = centres[rng.integers(20, size=count)] + 0.3 * rng.standard_normal((count, dimension))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors, ids, queries, k):
    scores = queries @ vectors.T
    return ids[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


def test_index_turns_approximate_as_it_grows_and_keeps_every_vector(tmp_path, small_threshold):
    data = clustered(400)
    ids = np.arange(1000, 1400)
    index = VectorIndex.create(tmp_path / "idx", MODEL)
    index.add(ids[:80], data[:80], MODEL)
    assert index.kind == "flat"
    index.add(ids[80:], data[80:], MODEL)
    assert index.kind == "ivf" and len(index) == 400
    # Each vector, used as a query, finds itself first: no id was lost or shifted in the switch.
    found = index.search(data, 1)[1][:, 0]
    assert np.mean(found == ids) >= 0.98


def test_approximate_top_hit_agrees_with_exact_search(tmp_path, small_threshold, monkeypatch):
    monkeypatch.setattr(vector_module, "NPROBE", 4)  # well under nlist, so the search is truly approximate
    data = clustered(3000)
    ids = np.arange(1, 3001)
    index = VectorIndex.build(tmp_path / "idx", MODEL, ids, data)
    assert index.kind == "ivf"
    queries = clustered(200, seed=1)
    found = index.search(queries, 1)[1][:, 0]
    assert np.mean(found == exact_top(data, ids, queries, 1)[:, 0]) >= 0.9


def test_removed_vectors_are_never_found(tmp_path, small_threshold):
    data = clustered(500)
    ids = np.arange(1, 501)
    index = VectorIndex.build(tmp_path / "idx", MODEL, ids, data)
    gone = ids[:50]
    assert index.remove(gone) == 50 and len(index) == 450
    found = index.search(data[:50], 10)[1]
    assert not set(found.ravel()) & set(gone.tolist())
    filtered = index.search(data[:1], 5, allowed=[1, 2, 60])[1][0]
    assert filtered.tolist() == [60, -1, -1, -1, -1]


@pytest.mark.parametrize("small_allowed", [vector_module.SMALL_ALLOWED, 10])
def test_filtered_search_is_exact_over_the_allowed_ids(tmp_path, small_threshold, monkeypatch, small_allowed):
    # Few allowed ids are scored exactly; many go through the IVF with more lists probed.
    monkeypatch.setattr(vector_module, "SMALL_ALLOWED", small_allowed)
    data = clustered(2000)
    ids = np.arange(1, 2001)
    index = VectorIndex.build(tmp_path / "idx", MODEL, ids, data)
    allowed = np.arange(1, 2001, 7)
    queries = clustered(20, seed=2)
    scores, found = index.search(queries, 10, allowed=allowed.tolist())
    expected = exact_top(data[allowed - 1], allowed, queries, 10)
    assert set(found.ravel()) <= set(allowed.tolist())
    assert np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found.tolist(), expected.tolist())]) >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_approximate_index_survives_save_and_open(tmp_path, small_threshold):
    data = clustered(500)
    index = VectorIndex.build(tmp_path / "idx", MODEL, np.arange(1, 501), data)
    index.remove(np.array([7]))
    index.save()
    assert json.loads((tmp_path / "idx" / "vectors.json").read_text())["index"] == "ivf"
    reopened = VectorIndex.open(tmp_path / "idx", MODEL)
    assert reopened.kind == "ivf" and len(reopened) == 499
    assert np.array_equal(reopened.search(data[:20], 5)[1], index.search(data[:20], 5)[1])
    assert reopened.search(data[6:7], 3, allowed=[7, 8])[1][0].tolist() == [8, -1, -1]


def test_rebuild_picks_the_index_type_by_chunk_count(indexed, monkeypatch):
    assert indexed.store.chunk_count() > 100
    monkeypatch.setenv("KB_EXACT_MAX", "100")
    approximate = indexed.rebuild_vectors()
    assert approximate.kind == "ivf" and len(approximate) == indexed.store.chunk_count()
    monkeypatch.delenv("KB_EXACT_MAX")
    assert indexed.rebuild_vectors().kind == "flat"


QUERIES = ["mesoespacio institucional", "distritos industriales en México", "asociatividad empresarial Medellín",
           "satisfacción con la vida de los ocupados", "Becattini distrito"]


def test_in_memory_bm25_scores_like_fts5(indexed):
    sparse = lexical.build(indexed.store.analyzed_texts(), indexed.generation, "x")
    for query in QUERIES:
        fts = indexed.store.lexical(fts_query(query), 50)
        ours = sparse.search(fts_query(query).replace('"', "").split(" OR "), 50)
        assert [round(s, 4) for _, s in ours] == [round(s, 4) for _, s in fts]
        fts_scores = dict(fts)
        assert all(abs(fts_scores[i] - s) < 1e-4 for i, s in ours)
    years = Filters(years=(1998,))
    allowed = indexed.store.chunk_ids(years)
    filtered = sparse.search(["distrit"], 50, allowed)
    assert filtered and {i for i, _ in filtered} <= set(allowed)
    assert [i for i, _ in filtered] == [i for i, _ in indexed.store.lexical('"distrit"', 50, years)]


def test_large_library_searches_through_the_saved_bm25_index(indexed, monkeypatch):
    before = {q: [h.chunk.chunk_id for h in search(indexed, FakeEmbedder(), q, k=5, mode="lexical")] for q in QUERIES}
    monkeypatch.setattr(indexed, "sparse_min", 1)
    indexed._sparse = None
    after = {q: [h.chunk.chunk_id for h in search(indexed, FakeEmbedder(), q, k=5, mode="lexical")] for q in QUERIES}
    assert after == before
    saved = lexical.load(indexed.directory)
    assert saved is not None and saved.generation == indexed.generation
    # A change to the store makes the saved index stale: it is rebuilt, not trusted.
    with indexed.store.atomic():
        indexed.bump_generation()
    assert indexed.sparse_lexical().generation == indexed.generation
    assert lexical.load(indexed.directory).generation == indexed.generation
    # A damaged file is rebuilt too, never a crash.
    (indexed.directory / lexical.LEXICAL_FILE).write_bytes(b"PK\x03\x04 basura")
    indexed._sparse = None
    hits = search(indexed, FakeEmbedder(), QUERIES[0], k=5, mode="lexical")
    assert [h.chunk.chunk_id for h in hits] == before[QUERIES[0]]
    monkeypatch.setattr(indexed, "sparse_min", lexical.SPARSE_MIN)
    indexed._sparse = None
    assert indexed.sparse_lexical() is None
