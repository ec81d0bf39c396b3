"""Sentence embeddings for queries and passages, L2-normalised float32."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.model import ModelInfo, resolve_model


def _hub_off() -> None:
    """Never reach a model hub: weights come from local directories only."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:
        return
    hub_constants.HF_HUB_OFFLINE = True


def model_input(prefix: str, text: str) -> str:
    """The exact string the model encodes; edge whitespace carries no meaning."""
    return (prefix + text).strip()


class Embedder:
    """A sentence-transformers model that adds the query/passage prefixes itself."""

    def __init__(self, info: ModelInfo, *, batch_size: int = 16) -> None:
        _hub_off()
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(os.cpu_count() or 1)
        self.info = info
        self.dimension = info.dimension
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(info.path), device="cpu", local_files_only=True)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([model_input(self.info.query_prefix, t) for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([model_input(self.info.passage_prefix, t) for t in texts])

    def token_ids(self, text: str) -> list[int]:
        """Token ids the model sees for `text` (prefix not added), with <s> and </s>."""
        return list(self.model.tokenizer(text)["input_ids"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        # sentence-transformers sorts by length before batching, so padding stays small.
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(model: str | Path | None = None, **kwargs) -> Embedder:
    """The embedder for `model` (a directory), `KB_MODEL`, or the default model."""
    return Embedder(resolve_model(model), **kwargs)
