"""The bundled corpus ships its passages' vectors for the default model, so a first start embeds nothing."""

import numpy as np

from ingest.bundled import VECTORS, Precomputed, bundled_passages, ensure_bundled_corpus, text_key
from tests.fakes import FAKE_MODEL, FakeEmbedder


def shipped() -> dict:
    with np.load(VECTORS) as data:
        return {"fingerprint": str(data["fingerprint"]), "vectors": dict(zip(map(str, data["keys"]), data["vectors"]))}


def test_the_shipped_vectors_cover_every_passage_the_corpus_gives_today():
    # Fails when the corpus or the chunker changes: run `python -m ingest.bundled` again.
    assert set(bundled_passages(FakeEmbedder())) <= set(shipped()["vectors"])


def test_the_shipped_vectors_are_the_default_models(real_model, real_embedder):
    data = shipped()
    assert data["fingerprint"] == real_model.fingerprint
    passages = list(bundled_passages(FakeEmbedder()).values())[::15]
    computed = real_embedder.encode_passages([text for text, _ in passages])
    stored = np.array([data["vectors"][text_key(text)] for text, _ in passages])
    assert np.sum(computed * stored, axis=1).min() >= 0.999


def test_known_passages_of_the_same_model_are_not_embedded_again(tmp_path):
    known = "El mesoespacio institucional reúne a los actores locales."
    path = tmp_path / "vectores.npz"
    vector = np.full(FAKE_MODEL.dimension, 1 / np.sqrt(FAKE_MODEL.dimension), np.float32)
    np.savez(path, fingerprint=np.array(FAKE_MODEL.fingerprint), keys=np.array([text_key(known)]),
             vectors=vector[None])
    fake = FakeEmbedder()
    out = Precomputed(fake, path).encode_passages([known, "Un texto que no viene con el corpus."])
    assert fake.calls == 1 and np.allclose(out[0], vector)
    assert np.allclose(out[1], FakeEmbedder().encode_passages(["Un texto que no viene con el corpus."])[0])


def test_another_models_vectors_are_never_used(tmp_path):
    fake = FakeEmbedder()
    summary = ensure_bundled_corpus(tmp_path / "idx", FAKE_MODEL, fake)  # the file holds the default model's
    assert summary is not None and fake.calls == sum(r.chunks for r in summary.results) > 100
