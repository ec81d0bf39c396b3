"""Real e5 vectors the scale benchmark grows its synthetic corpora from.

The bundled corpus is ingested once with the real model; its chunk texts and
passage vectors, and the query vectors of eval/dev.jsonl, are cached as an
.npz keyed by the model fingerprint, so later runs never load the model.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEV_SET = HERE.parent / "eval" / "dev.jsonl"


def seed_path(fingerprint: str) -> Path:
    from kb.config import cache_dir

    return cache_dir() / "bench" / f"scale-seed-{fingerprint.split(':')[-1][:16]}.npz"


def load_seed() -> dict:
    """{"texts", "vectors", "queries", "query_vectors", "query_ms"}, computing it on first use."""
    from kb.model.resolve import resolve_model

    path = seed_path(resolve_model().fingerprint)
    if not path.exists():
        _compute(path)
    data = np.load(path, allow_pickle=False)
    return {key: data[key] for key in data.files}


def _compute(path: Path) -> None:
    from ingest.pipeline import ingest
    from kb.config import bundled_corpus_dir
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    embedder = load_embedder()
    with tempfile.TemporaryDirectory(prefix="kb-scale-seed-") as directory:
        kb = KnowledgeBase(directory, embedder.info)
        ingest(kb, embedder, [bundled_corpus_dir()])
        ids, vectors = kb.store.all_vectors(embedder.info.dimension)
        rows = kb.store.chunks(ids.tolist())
        texts = [rows[int(i)].text for i in ids]
        kb.close()
    queries = [json.loads(line)["query"] for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    embedder.encode_queries(queries[:2])  # warm-up, so the timing below is per query, not first-call
    start = time.perf_counter()
    query_vectors = np.stack([embedder.encode_queries([q])[0] for q in queries])
    query_ms = (time.perf_counter() - start) * 1000 / len(queries)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, texts=np.array(texts), vectors=vectors, queries=np.array(queries),
             query_vectors=query_vectors.astype(np.float32), query_ms=np.float64(query_ms))
    tmp.replace(path)


if __name__ == "__main__":
    seed = load_seed()
    print(len(seed["texts"]), seed["vectors"].shape, seed["query_vectors"].shape, float(seed["query_ms"]))
