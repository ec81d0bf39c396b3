"""Warm query latency (p50/p95, ms) for lexical, dense and hybrid search, model load
excluded, on the bundled corpus with ../shared/real-pdfs ingested.

    python bench/search.py [--index DIR] [--rounds 3]

Prints the numbers and writes bench/results/search.json.
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
from kb.ask.search import MODES, search
from kb.config import bundled_corpus_dir
from kb.evaluation import write_report
from kb.index import KnowledgeBase
from kb.model.embedder import load_embedder

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) the index here")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    embedder = load_embedder()
    kb = KnowledgeBase(args.index or Path(tempfile.mkdtemp(prefix="kb-bench-")), embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir()] + ([REAL_PDFS] if REAL_PDFS.is_dir() else []))
    queries = [json.loads(line)["query"] for line in (HERE.parent / "eval" / "dev.jsonl").read_text().splitlines()]
    for query in queries[:5]:  # warm-up: caches, first FAISS and SQLite pages
        search(kb, embedder, query, k=10)

    report = {
        "benchmark": "search",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": len(kb.store.documents()),
        "chunks": kb.store.chunk_count(),
        "queries": len(queries) * args.rounds,
        "runtime": embedder.runtime("query"),
    }
    for mode in MODES:
        times = []
        for _ in range(args.rounds):
            for query in queries:
                start = time.perf_counter()
                search(kb, embedder, query, k=10, mode=mode)
                times.append((time.perf_counter() - start) * 1000)
        report[f"{mode}_p50_ms"] = round(float(np.percentile(times, 50)), 1)
        report[f"{mode}_p95_ms"] = round(float(np.percentile(times, 95)), 1)
        print(f"{mode:<8} p50 {report[f'{mode}_p50_ms']:6.1f} ms  p95 {report[f'{mode}_p95_ms']:6.1f} ms")
    kb.close()
    out = HERE / "results" / "search.json"
    print(f"Resultados en {write_report(out, report)}")


if __name__ == "__main__":
    main()
