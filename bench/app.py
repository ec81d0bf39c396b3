"""Interaction time of a search in the Streamlit app (p50/p95, ms), warm, on the
bundled corpus with ../shared/real-pdfs ingested: from typing a query to the
page holding the answer, the passages and their citations.

    python bench/app.py [--index DIR] [--queries 30]

Runs the app in-process with streamlit's AppTest (the script, its caches and
all rendering calls; not the browser's painting). Prints the numbers and writes
bench/results/app.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REAL_PDFS = ROOT.parent / "shared" / "real-pdfs"


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from ingest.pipeline import ingest
    from kb.config import bundled_corpus_dir
    from kb.evaluation import write_report
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) the index here")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()

    directory = args.index or Path(tempfile.mkdtemp(prefix="kb-bench-app-"))
    embedder = load_embedder()
    kb = KnowledgeBase(directory, embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir()] + ([REAL_PDFS] if REAL_PDFS.is_dir() else []))
    documents, chunks = len(kb.store.documents()), kb.store.chunk_count()
    kb.close()

    os.environ["KB_HOME"] = str(directory)
    every = [json.loads(line)["query"] for line in (ROOT / "eval" / "dev.jsonl").read_text().splitlines()]
    # The app caches each query's results: the warm-up queries are not measured again.
    queries, warm_up = every[:args.queries], every[-3:]
    if set(queries) & set(warm_up):
        raise SystemExit(f"--queries {args.queries}: use fewer than {len(every) - 2} (the last 3 warm up)")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()  # cold: model and index load
    for query in warm_up:
        at.text_input(key="q").input(query).run()
    times = []
    for query in queries:
        start = time.perf_counter()
        at.text_input(key="q").input(query).run()
        times.append((time.perf_counter() - start) * 1000)
        if at.exception:
            raise SystemExit(f"la app falló con {query!r}: {at.exception[0].value}")
    report = {
        "benchmark": "app-search",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": documents,
        "chunks": chunks,
        "queries": len(times),
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
        "max_ms": round(max(times), 1),
        "target_ms": 300,
    }
    print(f"búsqueda en la app: p50 {report['p50_ms']} ms · p95 {report['p95_ms']} ms · máx. {report['max_ms']} ms "
          f"({report['queries']} consultas, {documents} documentos, {chunks} fragmentos)")
    print(f"Resultados en {write_report(HERE / 'results' / 'app.json', report)}")


if __name__ == "__main__":
    main()
