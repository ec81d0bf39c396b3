"""FAISS vectors keyed by chunk id, tied to the model that produced them.

An index directory holds `vectors.faiss` and `vectors.json`; the manifest
records the model fingerprint and dimension, and every add or load is checked
against it so vectors of two models never share an index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ModelMismatchError
from kb.files import write_atomic
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

    def __init__(self, directory: Path, manifest: VectorManifest, index, generation: int = 0) -> None:
        self.directory = Path(directory)
        self.manifest = manifest
        self._index = index
        # Which state of the store these vectors match (see kb.index).
        self.generation = generation

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
        raw = (directory / INDEX_FILE).read_bytes()
        # Each file is replaced atomically, but not the pair: when two processes save
        # at once (an ingest, and a reader rebuilding a stale cache) one's index could
        # end up beside the other's manifest, so the manifest names the bytes it describes.
        expected = data.get("sha256")
        if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
            raise ValueError(f"{directory / INDEX_FILE}: no es el archivo que describe {MANIFEST_FILE} "
                             "(truncado, dañado o de otro guardado)")
        index = _faiss().deserialize_index(np.frombuffer(raw, dtype=np.uint8))
        vectors = cls(directory, manifest, index, int(data.get("generation", 0)))
        if model is not None:
            vectors.check_model(model)
        return vectors

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def check_model(self, model: ModelInfo) -> None:
        m = self.manifest
        check_same_model(self.directory, m.model_name, m.model_fingerprint, m.dimension, model)

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

    def search(self, queries: np.ndarray, k: int, allowed: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `k` nearest vectors per query, among `allowed` ids if given;
        id -1 pads short results."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if allowed is None:
            return self._index.search(queries, k)
        selector = _faiss().IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        return self._index.search(queries, k, params=_faiss().SearchParameters(sel=selector))

    def save(self) -> None:
        """Write the index and its manifest, each replaced atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        faiss = _faiss()
        data = faiss.serialize_index(self._index).tobytes()
        write_atomic(self.directory / INDEX_FILE, data)
        manifest = {
            "model_name": self.manifest.model_name,
            "model_fingerprint": self.manifest.model_fingerprint,
            "dimension": self.manifest.dimension,
            "generation": self.generation,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        write_atomic(self.directory / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())


def check_same_model(directory: Path, name: str, fingerprint: str, dimension: int, model: ModelInfo) -> None:
    """Raise unless `model` is the one (fingerprint and dimension) an index was built with."""
    if fingerprint == model.fingerprint and dimension == model.dimension:
        return
    raise ModelMismatchError(
        f"El índice de {directory} se creó con el modelo {name} "
        f"({_short(fingerprint)}, dimensión {dimension}), pero el modelo en uso es "
        f"{model.name} ({_short(model.fingerprint)}, dimensión {model.dimension}); "
        "no se mezclan vectores de modelos distintos. Para reindexar con el modelo en uso, "
        "cree un índice nuevo en otra carpeta y vuelva a ingerir los documentos; "
        "para seguir usando este índice, elija su modelo con KB_MODEL o --model."
    )


def _short(fingerprint: str) -> str:
    return fingerprint[:19]


