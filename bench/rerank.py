"""What a cross-encoder reranker would add to a warm query, before training one.

A cross-encoder built from the same base as kb's model reads the question and each
candidate passage together: one pass of the encoder per (question, passage) pair,
about as long as the passage. This times exactly that work with the engine kb
answers queries with (the same encoder, on ONNX Runtime), over the hybrid top-k
of every dev question, for several k, and adds the search itself. A trained
reranker's classification head is one more small matrix product, so these times
are a floor of its cost.

    python bench/rerank.py [--index DIR] [--rounds 1]

Prints p50/p95 per k and writes bench/results/rerank.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ingest.pipeline import ingest
from kb.ask.search import search
from kb.config import bundled_corpus_dir
from kb.evaluation import write_report
from kb.index import KnowledgeBase
from kb.model.embedder import load_embedder

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"
DEPTHS = (3, 5, 10)
BUDGET_MS = 300  # the warm p95 a reranker must keep (issue on the adapted retriever)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) the index here")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    embedder = load_embedder()
    kb = KnowledgeBase(args.index or Path(tempfile.mkdtemp(prefix="kb-bench-")), embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir()] + ([REAL_PDFS] if REAL_PDFS.is_dir() else []))
    queries = [json.loads(line)["query"] for line in (HERE.parent / "eval" / "dev.jsonl").read_text().splitlines()]
    engine = embedder.engine("query")
    for query in queries[:5]:  # warm-up: caches, first FAISS and SQLite pages, the ONNX session
        hits = search(kb, embedder, query, k=max(DEPTHS))
        engine.encode_passages([f"{query} {hit.chunk.text}" for hit in hits[:3]])

    searched, pairs = [], []
    for query in queries:
        start = time.perf_counter()
        hits = search(kb, embedder, query, k=max(DEPTHS))
        searched.append((time.perf_counter() - start) * 1000)
        pairs.append([f"{query} {hit.chunk.text}" for hit in hits])
    report: dict = {
        "benchmark": "rerank",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": len(kb.store.documents()),
        "chunks": kb.store.chunk_count(),
        "queries": len(queries),
        "runtime": embedder.runtime("query"),
        "search_p50_ms": round(float(np.percentile(searched, 50)), 1),
        "search_p95_ms": round(float(np.percentile(searched, 95)), 1),
        "budget_p95_ms": BUDGET_MS,
        "depths": {},
    }
    print(f"búsqueda híbrida sola: p50 {report['search_p50_ms']:.1f} ms, p95 {report['search_p95_ms']:.1f} ms")
    for depth in DEPTHS:
        times = []
        for _ in range(args.rounds):
            for query_pairs, search_ms in zip(pairs, searched):
                start = time.perf_counter()
                engine.encode_passages(query_pairs[:depth])
                times.append(search_ms + (time.perf_counter() - start) * 1000)
        p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
        report["depths"][str(depth)] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
        verdict = "dentro" if p95 <= BUDGET_MS else "fuera"
        print(f"búsqueda + reordenar {depth:>2} pasajes: p50 {p50:7.1f} ms, p95 {p95:7.1f} ms "
              f"({verdict} de {BUDGET_MS} ms)")
    kb.close()
    print(f"Resultados en {write_report(HERE / 'results' / 'rerank.json', report)}")


if __name__ == "__main__":
    main()
