"""A tiny deterministic embedder: hashed bags of Spanish stems, no model needed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from kb.model.resolve import ModelInfo
from kb.text.analysis import terms

DIMENSION = 256
FAKE_MODEL = ModelInfo("fake-hash", Path("/nonexistent/fake"), DIMENSION, "sha256:" + "f" * 64,
                       "tests", "query: ", "passage: ")


class FakeEmbedder:
    info = FAKE_MODEL
    dimension = DIMENSION

    def __init__(self) -> None:
        self.calls = 0  # passages embedded, to check what is (not) re-embedded

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(DIMENSION, np.float32)
        for term in terms(text) or ["vacío"]:
            v[int(hashlib.md5(term.encode()).hexdigest(), 16) % DIMENSION] += 1.0
        return v / np.linalg.norm(v)

    def encode_queries(self, texts):
        return np.array([self._vector(t) for t in texts], np.float32).reshape(len(texts), DIMENSION)

    def encode_passages(self, texts):
        self.calls += len(texts)
        return np.array([self._vector(t) for t in texts], np.float32).reshape(len(texts), DIMENSION)
