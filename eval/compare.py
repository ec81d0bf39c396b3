"""Quality of comparison tables.

    python eval/compare.py [--index DIR]

1. The FOMIN/BID document's own table (eval/fomin-gold.json): with its rows,
   framework columns "distrito industrial" and "clúster", restricted to that
   document, how many aspects put the document's district statement under
   "distrito industrial" and its cluster statement under "clúster".
2. Judged cells (eval/compare-cells.jsonl: the cells of the three presets over
   the bundled corpus, built with no threshold, each judged relevant or not):
   cell precision and empty-cell rate for a sweep of thresholds.

Writes eval/results/compare.json.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
SWEEP = (0.0, 0.78, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86)


def alnum(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def fomin_check(kb, embedder) -> dict:
    from kb.compare import Aspect, columns_for, compare
    from kb.config import bundled_corpus_dir

    gold = json.loads((HERE / "fomin-gold.json").read_text(encoding="utf-8"))
    doc = alnum((bundled_corpus_dir() / f"{gold['doc_id']}.txt").read_text(encoding="utf-8"))
    aspects = [Aspect(a["aspect"], a["query"]) for a in gold["aspects"]]
    table = compare(kb, embedder, columns_for(kb, "framework", ["distrito industrial", "clúster"]), aspects,
                    docs=(gold["doc_id"],))
    results = []
    for k, (aspect, row) in enumerate(zip(gold["aspects"], table.cells)):
        d, c = doc.index(alnum(aspect["district"])), doc.index(alnum(aspect["cluster"]))
        end = doc.index(alnum(gold["aspects"][k + 1]["district"])) if k + 1 < len(gold["aspects"]) else c + 1200
        sides = [cell is not None and alnum(cell.sentence)[:60] in block for cell, block in zip(row, (doc[d:c], doc[c:end]))]
        results.append({"aspect": aspect["aspect"], "district": sides[0], "cluster": sides[1]})
    return {"aspects": len(results), "both_right": sum(r["district"] and r["cluster"] for r in results),
            "district_right": sum(r["district"] for r in results), "cluster_right": sum(r["cluster"] for r in results),
            "rows": results}


def cell_sweep(judged: list[dict]) -> dict:
    out = {}
    for threshold in SWEEP:
        shown = [j for j in judged if j["score"] >= threshold]
        right = sum(j["label"] for j in shown)
        out[str(threshold)] = {"shown": len(shown), "empty_rate": round(1 - len(shown) / len(judged), 3),
                               "precision": round(right / len(shown), 3) if shown else None,
                               "relevant_kept": right}
    return out


def main() -> None:
    from ingest.pipeline import ingest
    from kb.compare import THRESHOLD
    from kb.config import bundled_corpus_dir
    from kb.embedder import load_embedder
    from kb.evaluation import load_set, write_report
    from kb.index import KnowledgeBase

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) an index of the bundled corpus")
    args = parser.parse_args()
    embedder = load_embedder()
    kb = KnowledgeBase(args.index or Path(tempfile.mkdtemp(prefix="kb-eval-")), embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir()])
    fomin = fomin_check(kb, embedder)
    kb.close()
    print(f"Tabla del documento FOMIN/BID: {fomin['both_right']}/{fomin['aspects']} aspectos con ambos lados bien "
          f"(distrito {fomin['district_right']}, clúster {fomin['cluster_right']})")
    judged = load_set(HERE / "compare-cells.jsonl")
    sweep = cell_sweep(judged)
    print(f"Celdas juzgadas: {len(judged)} ({sum(j['label'] for j in judged)} pertinentes)")
    for threshold, m in sweep.items():
        mark = "  ← en uso" if float(threshold) == THRESHOLD else ""
        print(f"  umbral {threshold:<5} precisión {m['precision']}  celdas vacías {m['empty_rate']:.3f}{mark}")
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "threshold": THRESHOLD,
              "fomin": fomin, "cells": sweep}
    print(f"Resultados en {write_report(HERE / 'results' / 'compare.json', report)}")


if __name__ == "__main__":
    main()
