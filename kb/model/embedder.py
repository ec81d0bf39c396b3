"""Sentence embeddings for queries and passages, L2-normalised float32.

Two runtimes compute the same vectors (cosine ≥ 0.9999): ONNX Runtime
(`kb.model.runtime`, starts in about half a second) and sentence-transformers on
torch (`Embedder`, 10–15 s to import; with bfloat16 the fastest for bulk
ingest on CPUs that run it natively). `LazyEmbedder` picks one per purpose and
loads it on the first encoding.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kb.config import precision_setting, runtime_setting
from kb.errors import ModelError
from kb.model.encoder import Encoder
from kb.model.resolve import ModelInfo, resolve_model

# transformers draws a "Loading weights" bar on stderr and offers no argument to
# turn it off, only a switch of its own module; it is turned off while a model
# loads and restored after, under a lock so that two loads cannot restore each
# other's state.
_LOADING = threading.Lock()


@contextmanager
def quiet_loading() -> Iterator[None]:
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

    runtime = "torch"

    def __init__(self, info: ModelInfo, *, batch_size: int = 16, precision: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.info = info
        self.dimension = info.dimension
        self.batch_size = batch_size
        self.precision = resolve_precision(precision)
        # A local directory with local_files_only: sentence-transformers and
        # transformers read its files and never ask a model hub.
        with quiet_loading():
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
    """True where oneDNN runs bfloat16 fast (AVX512 core or AMX, its own test);
    read from /proc/cpuinfo where there is one, so that asking imports no torch."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        flags = set()
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                flags = set(line.partition(":")[2].split())
                break
        return {"avx512bw", "avx512vl", "avx512dq"} <= flags or "amx_bf16" in flags
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


RUNTIMES = ("auto", "onnx", "torch")
EXPORTING = "Preparando el modelo para ONNX Runtime (una sola vez, alrededor de medio minuto)…"


def resolve_runtime(info: ModelInfo, purpose: str, requested: str | None = None) -> str:
    """"onnx" or "torch" for encoding `purpose` ("query" or "passage") with `info`:
    `requested`, else `KB_RUNTIME`, else "auto". "auto" runs on ONNX Runtime,
    except passages on a CPU with fast bfloat16 (bulk ingest was fastest there on
    torch, 24 passages/s against 14 in fp32, on an AVX512 machine) and models it
    cannot export."""
    from kb.model.onnx_export import unsupported_reason

    value = (runtime_setting(requested) or "auto").lower()
    if value not in RUNTIMES:
        raise ModelError(f"Motor desconocido {value!r} (KB_RUNTIME): use uno de {', '.join(RUNTIMES)}.")
    if value != "auto":
        return value
    if unsupported_reason(info):
        return "torch"
    if purpose == "passage" and resolve_precision() == "bf16":
        return "torch"
    return "onnx"


class LazyEmbedder:
    """The model, loaded on the first encoding on the runtime `resolve_runtime`
    picks for it: a command that turns out to need no vectors (a lexical search,
    a concept report, an index already up to date) never loads it, and a query
    never waits for torch."""

    def __init__(self, info: ModelInfo, *, runtime: str | None = None, precision: str | None = None,
                 batch_size: int = 16, notify: Callable[[str], None] = lambda _: None) -> None:
        self.info = info
        self.notify = notify
        self.dimension = info.dimension
        self._runtime = runtime
        self._precision = precision
        self._batch_size = batch_size
        self._engines: dict[str, Encoder] = {}
        self._lock = threading.Lock()  # the app shares one embedder between its sessions

    def runtime(self, purpose: str) -> str:
        """The runtime that encodes `purpose`, without loading it."""
        return resolve_runtime(self.info, purpose, self._runtime)

    def engine(self, purpose: str = "query") -> Encoder:
        """The loaded engine for `purpose`; the first call builds the ONNX copy if
        needed (once per model, 10–30 s) and loads the model."""
        runtime = self.runtime(purpose)
        with self._lock:
            return self._engines.get(runtime) or self._load(runtime)

    def _load(self, runtime: str) -> Encoder:
        engine: Encoder
        if runtime == "onnx":
            from kb.model.onnx_export import ensure_onnx, is_built
            from kb.model.runtime import OnnxEmbedder

            if not is_built(self.info):
                self.notify(EXPORTING)
            engine = OnnxEmbedder(self.info, ensure_onnx(self.info), batch_size=self._batch_size)
        else:
            engine = Embedder(self.info, batch_size=self._batch_size, precision=self._precision)
        self._engines[runtime] = engine
        return engine

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.engine("query").encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.engine("passage").encode_passages(texts)


def load_embedder(model: str | Path | None = None, **kwargs) -> LazyEmbedder:
    """The embedder for `model` (a directory), `KB_MODEL`, or the default model."""
    return LazyEmbedder(resolve_model(model), **kwargs)
