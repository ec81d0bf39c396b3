"""Retrieval quality of `kb search` (lexical, dense, hybrid) on a labelled query set.

The bundled corpus is ingested into a fresh index, with the real-world PDFs of
../shared/real-pdfs as distractors when present. A hit is relevant when it
comes from the query's document and contains the labelled answer
(`kb.evaluation.contains_answer`).

    python eval/retrieval.py [--set eval/dev.jsonl] [--no-distractors] [--index DIR]

Prints hit@1, recall@5 and MRR@10 per mode, with and without query expansion
through the concept taxonomy, and writes eval/results/.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
DISTRACTORS = HERE.parent.parent / "shared" / "real-pdfs"


def main() -> None:
    from ingest.pipeline import ingest
    from kb.ask.search import MODES, search
    from kb.config import bundled_corpus_dir
    from kb.evaluation import (
        contains_answer,
        format_metrics,
        load_set,
        metrics,
        write_report,
    )
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=HERE / "dev.jsonl")
    parser.add_argument("--no-distractors", action="store_true")
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) the index here")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    items = load_set(args.set)
    embedder = load_embedder()
    directory = args.index or Path(tempfile.mkdtemp(prefix="kb-eval-"))
    kb = KnowledgeBase(directory, embedder.info)
    sources = [bundled_corpus_dir()]
    if not args.no_distractors and DISTRACTORS.is_dir():
        sources.append(DISTRACTORS)
    ingest(kb, embedder, sources)
    chunks = kb.store.chunk_count()

    vectors = embedder.encode_queries([item["query"] for item in items])
    report = {
        "set": args.set.name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": len(kb.store.documents()),
        "chunks": chunks,
        "distractors": len(sources) > 1,
        "modes": {},
        "misses": {},
    }
    for mode in MODES:
        for expand in ((True, False) if mode != "dense" else (True,)):  # only BM25 is expanded
            name = mode if expand else f"{mode} (sin expansión)"
            ranks = []
            for item, vector in zip(items, vectors):
                hits = search(kb, embedder, item["query"], k=10, mode=mode, query_vector=vector, expand=expand)
                rank = next((h.rank for h in hits if h.chunk.doc_id == item["doc_id"]
                             and contains_answer(h.chunk.text, item["answer"])), None)
                ranks.append(rank)
            report["modes"][name] = metrics(ranks)
            report["misses"][name] = [item["id"] for item, r in zip(items, ranks) if r != 1]
            print(f"{name:<24} {format_metrics(report['modes'][name])}")
            if not expand:
                continue
            for voice in sorted({item.get("voice") for item in items} - {None}):
                v = metrics([r for item, r in zip(items, ranks) if item.get("voice") == voice])
                report["modes"][f"{mode}/{voice}"] = v
                print(f"  {voice:<22} {format_metrics(v)}  ({v['queries']} consultas)")
    print(f"({len(items)} consultas; {report['documents']} documentos, {chunks} fragmentos)")
    kb.close()
    out = args.out or HERE / "results" / f"retrieval-{args.set.stem}.json"
    print(f"Resultados en {write_report(out, report)}")


if __name__ == "__main__":
    main()
