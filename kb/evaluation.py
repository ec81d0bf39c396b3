"""Retrieval metrics over labelled queries (used by the scripts in eval/)."""

from __future__ import annotations

import json
import re
from pathlib import Path


def load_set(path: Path) -> list[dict]:
    """A labelled query set: one {"id", "query", "doc_id", "answer"} object per line."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def alnum(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def contains_answer(passage: str, answer: str) -> bool:
    """Compared on letters and digits only, so cleaning that rejoins "institucio- nal"
    still matches; half of the answer is enough when a chunk boundary cuts it."""
    a, p = alnum(answer), alnum(passage)
    half = len(a) // 2
    return a in p or a[:half] in p or a[half:] in p


def metrics(first_ranks: list[int | None]) -> dict:
    """hit@1, recall@5 and MRR@10 from each query's first relevant rank (None: not in the top 10)."""
    n = len(first_ranks)
    return {
        "queries": n,
        "hit_at_1": round(sum(r == 1 for r in first_ranks) / n, 3),
        "recall_at_5": round(sum(r is not None and r <= 5 for r in first_ranks) / n, 3),
        "mrr_at_10": round(sum(1 / r for r in first_ranks if r and r <= 10) / n, 3),
    }


def format_metrics(m: dict) -> str:
    return f"hit@1 {m['hit_at_1']:.3f}  recall@5 {m['recall_at_5']:.3f}  MRR@10 {m['mrr_at_10']:.3f}"


def write_report(path: Path, report: dict) -> Path:
    """Write a results file of eval/ or bench/ atomically (a temp file, then rename)."""
    from kb.files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path
