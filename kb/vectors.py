"""FAISS vectors keyed by chunk id, tied to the model that produced them.

An index directory holds `vectors.faiss` and `vectors.json`; the manifest
records the model fingerprint and dimension, and every add or load is checked
against it so vectors of two models never share an index.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ModelMismatchError
from kb.model import ModelInfo

INDEX_FILE = "vectors.faiss"
MANIFEST_FILE = "vectors.json"


@dataclass(frozen=True)
class VectorManifest:
    model_name: str
    model_fingerprint: str
    dimension: int


def _faiss():
    try:
        import faiss
    except ImportError as error:  # pragma: no cover - faiss-cpu is a dependency
        raise ImportError("FAISS no está disponible: instale faiss-cpu") from error
    return faiss


class VectorIndex:
    """Inner-product (cosine, for unit vectors) search over ids chosen by the caller."""

    def __init__(self, directory: Path, manifest: VectorManifest, index) -> None:
        self.directory = Path(directory)
        self.manifest = manifest
        self._index = index

    @classmethod
    def create(cls, directory: str | Path, model: ModelInfo) -> VectorIndex:
        faiss = _faiss()
        manifest = VectorManifest(model.name, model.fingerprint, model.dimension)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(model.dimension))
        return cls(Path(directory), manifest, index)

    @classmethod
    def open(cls, directory: str | Path, model: ModelInfo | None = None) -> VectorIndex:
        """Load an index; with `model`, refuse it unless it was built by that model."""
        directory = Path(directory)
        data = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        manifest = VectorManifest(data["model_name"], data["model_fingerprint"], int(data["dimension"]))
        vectors = cls(directory, manifest, _faiss().read_index(str(directory / INDEX_FILE)))
        if model is not None:
            vectors.check_model(model)
        return vectors

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def check_model(self, model: ModelInfo) -> None:
        m = self.manifest
        if m.model_fingerprint == model.fingerprint and m.dimension == model.dimension:
            return
        raise ModelMismatchError(
            f"El índice de {self.directory} se creó con el modelo {m.model_name} "
            f"({_short(m.model_fingerprint)}, dimensión {m.dimension}), pero el modelo en uso es "
            f"{model.name} ({_short(model.fingerprint)}, dimensión {model.dimension}); "
            "no se mezclan vectores de modelos distintos. Para reindexar con el modelo en uso, "
            "cree un índice nuevo en otra carpeta y vuelva a ingerir los documentos; "
            f"para seguir usando este índice, elija su modelo con KB_MODEL o --model."
        )

    def add(self, ids: np.ndarray, vectors: np.ndarray, model: ModelInfo) -> None:
        self.check_model(model)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.manifest.dimension:
            raise ModelMismatchError(
                f"Vectores de dimensión {vectors.shape[-1]} no caben en un índice de dimensión "
                f"{self.manifest.dimension} ({self.directory})."
            )
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `k` nearest vectors per query; id -1 pads short results."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        return self._index.search(queries, k)

    def save(self) -> None:
        """Write the index and its manifest, each replaced atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        faiss = _faiss()
        _atomic_write(self.directory / INDEX_FILE, faiss.serialize_index(self._index).tobytes())
        manifest = {
            "model_name": self.manifest.model_name,
            "model_fingerprint": self.manifest.model_fingerprint,
            "dimension": self.manifest.dimension,
        }
        _atomic_write(self.directory / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())


def _short(fingerprint: str) -> str:
    return fingerprint[:19]


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
