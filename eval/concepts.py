"""Precision and recall of the concept tagger on labelled (passage, concept, yes/no) judgments.

    python eval/concepts.py [--set eval/concepts.jsonl] [--sweep]

A judgment is predicted "yes" when the tagger tags the passage with the
concept. Passages taken from a document (bundled, or one of ../shared/real-pdfs
when that folder exists) are tagged with that document's evidence, as at
ingest: it decides what acronyms mean. With
--sweep, the overall numbers are also printed for other fuzzy thresholds.
Writes eval/results/concepts-<set>.json.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"
SWEEP = (0.7, 0.75, 0.8, 0.85, 0.9, 1.01)


def score(judgments: list[dict], predicted: list[bool]) -> dict:
    """Per-concept and overall (micro) precision and recall."""
    table: dict[str, dict[str, int]] = {}
    for item, guess in zip(judgments, predicted):
        row = table.setdefault(item["concept"], {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
        row[("t" if guess == item["label"] else "f") + ("p" if guess else "n")] += 1
    total = {k: sum(r[k] for r in table.values()) for k in ("tp", "fp", "fn", "tn")}
    return {"overall": _pr(total), "concepts": {c: _pr(r) for c, r in sorted(table.items())}}


def _pr(counts: dict[str, int]) -> dict:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return {**counts, "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


def predict(tagger, judgments: list[dict], hints: dict[str, dict]) -> list[bool]:
    out = []
    for item in judgments:
        source = item.get("source", "").removeprefix("ocr:").removeprefix("real:")
        tags = tagger.tag(item["text"], hint=hints.get(source))
        out.append(item["concept"] in {t.concept for t in tags})
    return out


def document_hints(tagger) -> dict[str, dict]:
    from ingest.chunk import chunk_pages
    from ingest.clean import clean_pages
    from ingest.extract import extract
    from kb.config import bundled_corpus_dir
    from kb.errors import KBError

    paths = sorted(bundled_corpus_dir().glob("*.txt")) + sorted(REAL_PDFS.glob("*.pdf"))
    hints = {}
    for path in paths:
        try:
            pages = clean_pages(extract(path).pages)
        except KBError:
            continue  # the broken files of real-pdfs
        hints[path.stem] = tagger.document_hint(c.text for c in chunk_pages(path.stem, pages))
    return hints


def _fmt(m: dict) -> str:
    p = "—" if m["precision"] is None else f"{m['precision']:.3f}"
    r = "—" if m["recall"] is None else f"{m['recall']:.3f}"
    return f"precisión {p}  exhaustividad {r}  (VP {m['tp']}, FP {m['fp']}, FN {m['fn']}, VN {m['tn']})"


def main() -> None:
    from kb.concepts.tagger import FUZZY_THRESHOLD, Tagger
    from kb.concepts.taxonomy import load_taxonomy
    from kb.evaluation import load_set, write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=HERE / "concepts.jsonl")
    parser.add_argument("--sweep", action="store_true", help="compare fuzzy thresholds")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    judgments = load_set(args.set)
    taxonomy = load_taxonomy()
    tagger = Tagger(taxonomy)
    hints = document_hints(tagger)
    predicted = predict(tagger, judgments, hints)
    result = score(judgments, predicted)
    for concept, m in result["concepts"].items():
        print(f"{concept:<40} {_fmt(m)}")
    print(f"{'GLOBAL':<40} {_fmt(result['overall'])}")
    print(f"({len(judgments)} juicios, {len(result['concepts'])} conceptos, umbral difuso {FUZZY_THRESHOLD})")
    report = {"set": args.set.name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "fuzzy_threshold": FUZZY_THRESHOLD, **result,
              "errors": [{"id": j["id"], "concept": j["concept"], "label": j["label"]}
                         for j, p in zip(judgments, predicted) if p != j["label"]]}
    if args.sweep:
        report["sweep"] = {}
        for threshold in SWEEP:
            other = Tagger(taxonomy, fuzzy_threshold=threshold)
            m = score(judgments, predict(other, judgments, hints))["overall"]
            report["sweep"][str(threshold)] = m
            print(f"umbral {threshold:<5} {_fmt(m)}")
    out = args.out or HERE / "results" / f"concepts-{args.set.stem}.json"
    print(f"Resultados en {write_report(out, report)}")


if __name__ == "__main__":
    main()
