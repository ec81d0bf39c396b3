"""First use: an empty index gets the bundled corpus, so a new user can search at once.

The CLI and the app both call `ensure_bundled_corpus` before opening an index to
read; it is the only place where first use writes.

The corpus ships with its passages' vectors for the default model
(`ingest/bundled_vectors.npz`, made by `python -m ingest.bundled`): embedding them took
most of a first start (240 passages, 45 s on 2 slow cores). A passage whose text
is not there, or another model, is embedded as usual.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ingest.pipeline import Progress, Summary, ingest
from kb.config import bundled_corpus_dir
from kb.index import KnowledgeBase, exists
from kb.model.encoder import Encoder
from kb.model.resolve import ModelInfo
from kb.store.db import SchemaError, Store

FIRST_USE = "Índice vacío: indexando el corpus incluido (una sola vez)…"
VECTORS = Path(__file__).resolve().parent / "bundled_vectors.npz"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class Precomputed:
    """`embedder`, except for passages whose vectors the corpus ships for the same model."""

    def __init__(self, embedder: Encoder, path: Path) -> None:
        self.embedder = embedder
        self.info = embedder.info
        self.dimension = embedder.dimension
        self.vectors: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as data:
                if str(data["fingerprint"]) == embedder.info.fingerprint:
                    self.vectors = dict(zip((str(k) for k in data["keys"]), data["vectors"]))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        found = [self.vectors.get(text_key(t)) for t in texts]
        missing = [i for i, v in enumerate(found) if v is None]
        out = np.zeros((len(texts), self.dimension), np.float32)
        if missing:
            out[missing] = self.embedder.encode_passages([texts[i] for i in missing])
        for i, vector in enumerate(found):
            if vector is not None:
                out[i] = vector
        return out


def is_empty(directory: str | Path) -> bool:
    """Whether `directory` has no index yet, or one without documents (read only)."""
    if not exists(directory):
        return True
    try:
        store = Store(directory, mode="read")
    except SchemaError:
        return False  # an index from an older kb holds documents; opening it to read upgrades it
    try:
        return store.is_empty()
    finally:
        store.close()


def ensure_bundled_corpus(directory: str | Path, model: ModelInfo, embedder: Encoder, *,
                          progress: Callable[[Progress], None] | None = None,
                          notify: Callable[[str], None] | None = None) -> Summary | None:
    """Index the bundled corpus into `directory` when it has no documents; the
    ingest's summary, or None when the index already had documents."""
    if not is_empty(directory):
        return None
    kb = KnowledgeBase(directory, model)
    try:
        if not kb.store.is_empty():  # another process filled it meanwhile
            return None
        if notify:
            notify(FIRST_USE)
        return ingest(kb, Precomputed(embedder, VECTORS), [bundled_corpus_dir()],
                      progress=progress or (lambda _: None))
    finally:
        kb.close()


class _Recording:
    """An embedder that keeps every passage it embeds, with its vector."""

    def __init__(self, embedder: Encoder) -> None:
        self.embedder, self.info, self.dimension = embedder, embedder.info, embedder.dimension
        self.seen: dict[str, tuple[str, np.ndarray]] = {}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.embedder.encode_passages(texts)
        self.seen.update((text_key(t), (t, v)) for t, v in zip(texts, vectors))
        return vectors


def bundled_passages(embedder: Encoder) -> dict[str, tuple[str, np.ndarray]]:
    """Every passage the bundled corpus gives today, by `text_key`: its text and vector."""
    import tempfile

    recording = _Recording(embedder)
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Path(tmp), embedder.info)
        try:
            ingest(kb, recording, [bundled_corpus_dir()])
        finally:
            kb.close()
    return recording.seen


def write_vectors(embedder: Encoder, path: Path = VECTORS) -> Path:
    """Embed every passage of the bundled corpus with `embedder` and write them to `path`."""
    from kb.files import write_atomic

    seen = bundled_passages(embedder)
    keys = sorted(seen)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, fingerprint=np.array(embedder.info.fingerprint), keys=np.array(keys),
                        vectors=np.array([seen[k][1] for k in keys], np.float32))
    write_atomic(path, buffer.getvalue())
    return path


if __name__ == "__main__":
    from kb.model.embedder import load_embedder

    # ONNX Runtime in fp32 gives the same vectors on every CPU; torch in bf16, which
    # ingest picks for passages on a CPU with fast bfloat16, would ship that machine's.
    print(f"Escrito {write_vectors(load_embedder(runtime='onnx'))}")
