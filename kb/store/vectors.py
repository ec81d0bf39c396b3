"""FAISS vectors keyed by chunk id, tied to the model that produced them.

An index directory holds `vectors.faiss` and `vectors.json`; the manifest
records the model fingerprint and dimension, and every add or load is checked
against it so vectors of two models never share an index.

Up to `exact_max()` vectors the index is exact (a flat inner product); above,
it is an inverted file (IVF-Flat: vectors clustered into lists, a query scans
the `nprobe` nearest lists with exact scores). IVF keeps what the product
needs from the flat index: removal by id, search restricted to allowed ids,
and the stored vectors themselves (so a small allowed set is searched exactly).
Measured on 1M clustered e5-like vectors (bench/scale.py, 2 shared cores):
nprobe 16 of ~1000 lists gives recall@10 0.99-0.996 against exact search at
p50 ~2 ms per query; nprobe 32 buys 0.998 at ~10x the latency.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.config import exact_max_setting
from kb.errors import KBError, ModelMismatchError
from kb.files import write_atomic
from kb.model.resolve import ModelInfo
from kb.store.db import Store

INDEX_FILE = "vectors.faiss"
MANIFEST_FILE = "vectors.json"

EXACT_MAX = 200_000  # vectors; above, the index becomes approximate (IVF); KB_EXACT_MAX overrides it
NPROBE = 16  # lists scanned per query; see the module docstring for the recall it buys
TRAIN_PER_LIST = 64  # k-means sample size per list: enough for stable centroids, fast to train
# A filtered search over at most this many ids scores them all exactly: cheaper
# than probing lists that hold few allowed vectors, and never misses one.
SMALL_ALLOWED = 20_000
# An IVF trained for n vectors is retrained once it holds GROWTH times as many,
# so lists stay short enough for NPROBE to cover the neighbourhood.
GROWTH = 4


def exact_max() -> int:
    setting = exact_max_setting()
    return EXACT_MAX if setting is None else setting


def nlist_for(count: int) -> int:
    """Lists of an IVF over `count` vectors: ~sqrt(count), the usual balance
    between scanning centroids and scanning lists."""
    return max(16, int(math.sqrt(count)))


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
        # A setting of the index, fixed when it is built or opened: above this many
        # vectors, adding turns it approximate.
        self.exact_max = exact_max()

    @classmethod
    def create(cls, directory: str | Path, model: ModelInfo) -> VectorIndex:
        manifest = VectorManifest(model.name, model.fingerprint, model.dimension)
        return cls(Path(directory), manifest, _flat(model.dimension))

    @classmethod
    def build(cls, directory: str | Path, model: ModelInfo, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        """An index holding `vectors`, exact or approximate by their number."""
        index = cls.create(directory, model)
        index.add(ids, vectors, model)
        return index

    @property
    def kind(self) -> str:
        """"flat" (exact) or "ivf" (approximate)."""
        return "ivf" if _ivf_of(self._index) is not None else "flat"

    @property
    def nlist(self) -> int | None:
        """Lists of an IVF index (None when exact)."""
        ivf = _ivf_of(self._index)
        return int(ivf.nlist) if ivf is not None else None

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
        ids = np.asarray(ids, dtype=np.int64)
        total = len(self) + len(ids)
        ivf = _ivf_of(self._index)
        if total > self.exact_max and (ivf is None or total > GROWTH * ivf.nlist ** 2):
            # Crossing the threshold (or outgrowing the lists): retrain over everything.
            old = self._contents()
            self._index = None  # freed before the new index fills: at 1M this halves the peak memory
            self._index = _ivf([old, (ids, vectors)])
        else:
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, queries: np.ndarray, k: int, allowed: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `k` nearest vectors per query, among `allowed` ids if given;
        id -1 pads short results. Exact, except unfiltered or broadly filtered
        searches in an IVF index."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        # FAISS's OpenMP thread count is left to the program using kb: FAISS splits a
        # batch over queries, and a single flat query over the database (10k vectors and up).
        faiss = _faiss()
        ivf = _ivf_of(self._index)
        if allowed is None:
            if ivf is None:
                return self._index.search(queries, k)
            return self._index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=min(NPROBE, ivf.nlist)))
        wanted = np.asarray(allowed, dtype=np.int64)
        if ivf is not None and len(wanted) <= SMALL_ALLOWED:
            try:
                return _exact_subset(queries, k, wanted, ivf.reconstruct_batch(wanted))
            except RuntimeError:
                pass  # an id the index does not hold (store ahead of index): scan below
        selector = faiss.IDSelectorBatch(wanted)
        if ivf is None:
            return self._index.search(queries, k, params=faiss.SearchParameters(sel=selector))
        # Probe more lists the fewer ids are allowed, so about as many allowed
        # vectors get scored as an unfiltered search scores.
        nprobe = min(ivf.nlist, math.ceil(NPROBE * len(self) / max(1, len(wanted))))
        return self._index.search(queries, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=nprobe))

    def _contents(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything the index holds."""
        faiss = _faiss()
        d = self.manifest.dimension
        ivf = _ivf_of(self._index)
        if ivf is None:
            flat = faiss.downcast_index(self._index.index)
            return faiss.vector_to_array(self._index.id_map).astype(np.int64), flat.reconstruct_n(0, len(self))
        from faiss.contrib.inspect_tools import get_invlist

        parts = [get_invlist(ivf.invlists, i) for i in range(ivf.nlist)]
        ids = np.concatenate([p[0] for p in parts]).astype(np.int64)
        vectors = np.concatenate([p[1].view(np.float32).reshape(-1, d) for p in parts])
        return ids, vectors

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
            "index": self.kind,
        }
        write_atomic(self.directory / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())


def _flat(dimension: int):
    faiss = _faiss()
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def _ivf(parts: list[tuple[np.ndarray, np.ndarray]]):
    """An IVF-Flat index over the (ids, vectors) parts, trained on a fixed-seed sample of them."""
    faiss = _faiss()
    dimension = parts[0][1].shape[1]
    count = sum(len(ids) for ids, _ in parts)
    nlist = nlist_for(count)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    rows = np.sort(np.random.default_rng(0).choice(count, min(count, nlist * TRAIN_PER_LIST), replace=False))
    offsets = np.cumsum([0] + [len(ids) for ids, _ in parts])
    sample = np.concatenate([vectors[rows[(rows >= start) & (rows < end)] - start]
                             for (_, vectors), start, end in zip(parts, offsets, offsets[1:])])
    index.cp.max_points_per_centroid = TRAIN_PER_LIST
    index.cp.min_points_per_centroid = 1  # small indexes (tests) train on what they have, silently
    index.train(np.ascontiguousarray(sample))
    # A hashtable from id to vector: allowed-id searches read vectors by id, and removal keeps it in step.
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    for ids, vectors in parts:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


def _ivf_of(index):
    faiss = _faiss()
    ivf = faiss.downcast_index(index)
    return ivf if isinstance(ivf, faiss.IndexIVFFlat) else None


def _exact_subset(queries: np.ndarray, k: int, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FAISS-shaped (scores, ids) of an exhaustive inner product over `vectors`."""
    scores = queries @ vectors.T
    top = min(k, len(ids))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    out_scores = np.full((len(queries), k), np.finfo(np.float32).min, dtype=np.float32)  # FAISS's padding
    out_ids = np.full((len(queries), k), -1, dtype=np.int64)
    out_scores[:, :top] = np.take_along_axis(scores, order, axis=1)
    out_ids[:, :top] = ids[order]
    return out_scores, out_ids


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


def build_vectors(store: Store, model: ModelInfo, directory: Path) -> VectorIndex:
    """Every stored vector, labelled with the generation it matches: both are read
    in one snapshot, so a commit in between cannot make the label lie."""
    with store.snapshot():
        generation = store.generation()
        ids, matrix = store.all_vectors(model.dimension)
        missing = store.chunk_count() - len(ids)
    if missing:
        raise KBError(f"{directory}: {missing} fragmentos no tienen su vector guardado; ejecute `kb doctor --repair`, "
                      "que los calcula de nuevo desde su texto.")
    # Exact or approximate by the number of chunks (exact_max).
    vectors = VectorIndex.build(directory, model, ids, matrix)
    vectors.generation = generation
    return vectors
