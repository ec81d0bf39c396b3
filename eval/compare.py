"""Quality of comparison tables.

    python eval/compare.py [--index DIR]

1. The FOMIN/BID document's own table (eval/fomin-gold.json): with its rows,
   framework columns "distrito industrial" and "clúster", restricted to that
   document, how many aspects put the document's district statement under
   "distrito industrial" and its cluster statement under "clúster".
2. Judged cells (eval/compare-cells.jsonl: cells of the three presets over the
   bundled corpus, each judged relevant or not by someone who did not see the
   scores): the presets are built for a sweep of thresholds, and each cell shown
   is looked up in the judgments: cell precision, empty-cell rate, and how many
   shown cells nobody has judged yet (written to eval/results/compare-unjudged.jsonl,
   to be judged and appended before the numbers are trusted).

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
# No threshold, then steps of 0.01 around the one in use (cosines belong to the model).
OFFSETS = (-0.04, -0.03, -0.02, -0.01, 0.0, 0.01, 0.02)


def alnum(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def cell_key(cell: dict) -> tuple:
    """What identifies a judged or a shown cell (both carry these fields); a document
    column is its document, whatever label it was shown under."""
    column = cell["doc_id"] if cell["column_kind"] == "document" else cell["column"]
    return cell["preset"], cell["aspect"], column, cell["doc_id"], alnum(cell["sentence"])[:120]


def fomin_check(kb, embedder) -> dict:
    from kb.ask.compare import Aspect, columns_for, compare
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


def preset_cells(kb, embedder, threshold: float) -> list[dict]:
    """Every cell of the shipped presets over the bundled corpus, None for an empty one."""
    from kb.ask.compare import columns_for, compare
    from kb.ask.presets import load_presets

    cells = []
    for preset in load_presets().values():
        table = compare(kb, embedder, columns_for(kb, preset.columns, list(preset.ids)), list(preset.aspects),
                        threshold=threshold)
        for aspect, row in zip(preset.aspects, table.cells):
            for column, cell in zip(table.columns, row):
                cells.append(None if cell is None else {
                    "preset": preset.id, "aspect": aspect.label, "question": aspect.question,
                    "column": column.id, "column_kind": column.kind, "doc_id": cell.doc_id, "page": cell.page,
                    "sentence": cell.sentence, "passage": cell.text, "score": round(cell.score, 4)})
    return cells


def cell_sweep(kb, embedder, judged: list[dict]) -> tuple[dict, list[dict]]:
    from kb.ask.compare import THRESHOLD

    labels = {cell_key(j): j["label"] for j in judged}
    out, unjudged = {}, {}
    for threshold in (0.0, *(round(THRESHOLD + offset, 2) for offset in OFFSETS)):
        cells = preset_cells(kb, embedder, threshold)
        shown = [c for c in cells if c is not None]
        keys = [cell_key(c) for c in shown]
        verdicts = [labels.get(key) for key in keys]
        for key, cell, verdict in zip(keys, shown, verdicts):
            if verdict is None:
                unjudged.setdefault(key, cell)
        known = [v for v in verdicts if v is not None]
        out[str(threshold)] = {"cells": len(cells), "shown": len(shown), "judged": len(known),
                               "unjudged": len(shown) - len(known),
                               "empty_rate": round(1 - len(shown) / len(cells), 3),
                               "precision": round(sum(known) / len(known), 3) if known else None,
                               "relevant": sum(known)}
    return out, list(unjudged.values())


def main() -> None:
    from ingest.pipeline import ingest
    from kb.ask.compare import THRESHOLD
    from kb.config import bundled_corpus_dir
    from kb.evaluation import load_set, write_report
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) an index of the bundled corpus")
    args = parser.parse_args()
    embedder = load_embedder()
    kb = KnowledgeBase(args.index or Path(tempfile.mkdtemp(prefix="kb-eval-")), embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir()])
    fomin = fomin_check(kb, embedder)
    print(f"Tabla del documento FOMIN/BID: {fomin['both_right']}/{fomin['aspects']} aspectos con ambos lados bien "
          f"(distrito {fomin['district_right']}, clúster {fomin['cluster_right']})")
    judged = load_set(HERE / "compare-cells.jsonl")
    sweep, unjudged = cell_sweep(kb, embedder, judged)
    kb.close()
    print(f"Celdas juzgadas: {len(judged)} ({sum(j['label'] for j in judged)} pertinentes)")
    for threshold, m in sweep.items():
        mark = "  ← en uso" if float(threshold) == THRESHOLD else ""
        print(f"  umbral {threshold:<5} precisión {m['precision']}  celdas vacías {m['empty_rate']:.3f}  "
              f"sin juzgar {m['unjudged']}{mark}")
    path = HERE / "results" / "compare-unjudged.jsonl"
    path.unlink(missing_ok=True)  # a list from an earlier run would be taken for this one's
    if unjudged:
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in unjudged), encoding="utf-8")
        print(f"{len(unjudged)} celdas mostradas sin juzgar: {path}")
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "threshold": THRESHOLD,
              "fomin": fomin, "cells": sweep}
    print(f"Resultados en {write_report(HERE / 'results' / 'compare.json', report)}")


if __name__ == "__main__":
    main()
