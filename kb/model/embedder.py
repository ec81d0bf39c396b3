"""Sentence embeddings for queries and passages, L2-normalised float32."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kb.config import precision_setting
from kb.errors import ModelError
from kb.model.resolve import ModelInfo, resolve_model

# transformers draws a "Loading weights" bar on stderr and offers no argument to
# turn it off, only a switch of its own module; it is turned off while a model
# loads and restored after, under a lock so that two loads cannot restore each
# other's state.
_LOADING = threading.Lock()


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    from transformers.utils import logging as transformers_logging

    with _LOADING:
        shown = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            yield
        finally:
            if shown:
                transformers_logging.enable_progress_bar()


def model_input(prefix: str, text: str) -> str:
    """The exact string the model encodes; edge whitespace carries no meaning."""
    return (prefix + text).strip()


class Embedder:
    """A sentence-transformers model that adds the query/passage prefixes itself.

    `precision` "bf16" runs the matrix products in bfloat16 (about twice as fast
    on CPUs with AVX512-BF16 or AMX, cosine ≥ 0.9999 against fp32 on the bundled
    corpus); "auto" picks it where the CPU supports it natively, else "fp32".
    """

    def __init__(self, info: ModelInfo, *, batch_size: int = 16, precision: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.info = info
        self.dimension = info.dimension
        self.batch_size = batch_size
        self.precision = resolve_precision(precision)
        # A local directory with local_files_only: sentence-transformers and
        # transformers read its files and never ask a model hub.
        with _no_progress_bar():
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
        import torch

        # Autocast keeps layer norms, softmax and pooling in fp32; only the
        # matrix products drop to bfloat16.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            # sentence-transformers sorts by length before batching, so padding stays small.
            vectors = self.model.encode(
                texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        # Normalise here rather than trust the model: a user's model directory
        # may have no Normalize module.
        return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


PRECISIONS = ("auto", "fp32", "bf16")


def bf16_supported() -> bool:
    """True where oneDNN runs bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is slow."""
    import torch

    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(torch.backends.mkldnn.is_available() and check is not None and check())


def resolve_precision(requested: str | None = None) -> str:
    """`requested`, else `KB_PRECISION`, else "auto"; "auto" becomes "bf16" or "fp32"."""
    value = (precision_setting(requested) or "auto").lower()
    if value not in PRECISIONS:
        raise ModelError(f"Precisión desconocida {value!r} (KB_PRECISION): use una de {', '.join(PRECISIONS)}.")
    if value == "auto":
        return "bf16" if bf16_supported() else "fp32"
    return value


class LazyEmbedder:
    """An `Embedder` built on the first encoding: a command that turns out to need no
    vectors (a lexical search, a concept report, an index already up to date) never
    imports torch, which alone takes about 11 s to load here."""

    def __init__(self, info: ModelInfo, **options) -> None:
        self.info = info
        self.dimension = info.dimension
        self._options = options
        self._embedder: Embedder | None = None

    @property
    def loaded(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(self.info, **self._options)
        return self._embedder

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded.encode_passages(texts)


def load_embedder(model: str | Path | None = None, **kwargs) -> Embedder:
    """The embedder for `model` (a directory), `KB_MODEL`, or the default model."""
    return Embedder(resolve_model(model), **kwargs)
