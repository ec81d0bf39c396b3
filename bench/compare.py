"""Time to build a comparison table (8 aspects × 5 documents), warm, on the bundled
corpus with ../shared/real-pdfs ingested.

    python bench/compare.py [--index DIR] [--rounds 5]

Prints the numbers and writes bench/results/compare.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"
DOCUMENTS = ["saravi-1998-distritos-mexico", "pillihuaman-2025-villa-el-salvador", "fomin-bid-clusters-distritos",
             "cepal-sercotec-2025-mipymes-chile", "loginn-2018-asociatividad-medellin"]


def main() -> None:
    from ingest.pipeline import ingest
    from kb.ask.compare import columns_for, compare
    from kb.ask.presets import load_presets
    from kb.config import bundled_corpus_dir
    from kb.evaluation import write_report
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) the index here")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    embedder = load_embedder()
    kb = KnowledgeBase(args.index or Path(tempfile.mkdtemp(prefix="kb-bench-")), embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir()] + ([REAL_PDFS] if REAL_PDFS.is_dir() else []))
    aspects = list(load_presets()["distrito-vs-cluster"].aspects)  # the 8 aspects of the issue
    columns = columns_for(kb, "document", DOCUMENTS)
    compare(kb, embedder, columns, aspects)  # warm-up
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        table = compare(kb, embedder, columns, aspects)
        times.append(time.perf_counter() - start)
    filled = sum(cell is not None for row in table.cells for cell in row)
    report = {
        "benchmark": "compare",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "aspects": len(aspects), "columns": len(columns), "cells_filled": filled,
        "chunks": kb.store.chunk_count(),
        "p50_s": round(float(np.percentile(times, 50)), 3), "max_s": round(max(times), 3), "target_s": 2.0,
    }
    kb.close()
    print(f"tabla {len(aspects)}×{len(columns)}: p50 {report['p50_s']} s · máx. {report['max_s']} s "
          f"({filled} celdas con evidencia, {report['chunks']} fragmentos)")
    print(f"Resultados en {write_report(HERE / 'results' / 'compare.json', report)}")


if __name__ == "__main__":
    main()
