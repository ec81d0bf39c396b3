"""How well the signals available offline tell a relevant comparison cell from an
irrelevant one.

    python eval/compare_signals.py [--index DIR]

Every candidate quote of the three presets over the bundled corpus (what a cell
could show, kb.compare.candidates) is looked up in eval/compare-cells.jsonl, where
each was judged relevant or not without seeing any score. Reported:
- how many cells have at least one relevant candidate (what a perfect ranker shows);
- precision of the candidate the tables rank first;
- the area under the ROC curve of each signal over all candidates: the passage's
  cosine, the ranking, the cue value, the sentence's own cosine (e5), and a logistic
  regression over the sentence's e5 vector, its product with the question's and
  those scores, trained with one aspect left out at a time (an unseen aspect, as a
  user's own would be), with the precision it gives against the empty-cell rate.

Writes eval/results/compare-signals.json.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from compare import cell_key

HERE = Path(__file__).resolve().parent


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a relevant candidate outscores an irrelevant one (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (len(pos) * len(neg)))


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 800) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by gradient descent."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0] / len(y))
    return w


def main() -> None:
    from ingest.pipeline import ingest
    from kb.ask.compare import candidates, columns_for
    from kb.ask.presets import load_presets
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
    labels = {cell_key(j): j["label"] for j in load_set(HERE / "compare-cells.jsonl")}
    rows, unjudged = [], 0
    for preset in load_presets().values():
        columns = columns_for(kb, preset.columns, list(preset.ids))
        for column, ranked in zip(columns, candidates(kb, embedder, columns, list(preset.aspects))):
            for aspect, options in zip(preset.aspects, ranked):
                for position, option in enumerate(options):
                    key = cell_key({"preset": preset.id, "aspect": aspect.label, "column": column.id,
                                    "column_kind": column.kind, "doc_id": option.chunk.doc_id,
                                    "sentence": option.quote.sentence})
                    if key not in labels:
                        unjudged += 1
                        continue
                    rows.append({"cell": (preset.id, aspect.label, column.id), "aspect": (preset.id, aspect.label),
                                 "first": position == 0, "question": aspect.question,
                                 "sentence": option.quote.sentence, "label": labels[key], "score": option.score,
                                 "rank": option.rank, "cues": option.quote.value})
    kb.close()
    y = np.array([r["label"] for r in rows])
    sentences = sorted({r["sentence"] for r in rows})
    questions = sorted({r["question"] for r in rows})
    s = dict(zip(sentences, embedder.encode_passages(sentences)))
    q = dict(zip(questions, embedder.encode_queries(questions)))
    for r in rows:
        r["sentence_cosine"] = float(q[r["question"]] @ s[r["sentence"]])
    signals = {name: round(auc(y, np.array([r[name] for r in rows])), 3)
               for name in ("score", "rank", "cues", "sentence_cosine")}
    x = np.array([np.concatenate([s[r["sentence"]], q[r["question"]] * s[r["sentence"]],
                                  [r["sentence_cosine"], r["score"], r["cues"]]]) for r in rows])
    groups = np.array([hash(r["aspect"]) for r in rows])
    learned = np.zeros(len(rows))
    for group in np.unique(groups):
        held = groups == group
        mean, std = x[~held].mean(0), x[~held].std(0) + 1e-9
        w = logistic((x[~held] - mean) / std, y[~held].astype(float))
        learned[held] = np.hstack([(x[held] - mean) / std, np.ones((held.sum(), 1))]) @ w
    signals["learned, aspect left out"] = round(auc(y, learned), 3)
    cells = defaultdict(list)
    for r, p in zip(rows, learned):
        cells[r["cell"]].append((p, r["label"]))
    best = sorted((max(options) for options in cells.values()), reverse=True)
    curve = {f"{1 - n / len(best):.2f}": round(float(np.mean([label for _, label in best[:n]])), 3)
             for n in (len(best), round(0.75 * len(best)), round(0.5 * len(best)), round(0.25 * len(best)))}
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "candidates": len(rows),
              "unjudged": unjudged, "cells": len(cells),
              "cells_with_a_relevant_candidate": sum(any(label for _, label in o) for o in cells.values()),
              "precision_of_first": round(float(np.mean([r["label"] for r in rows if r["first"]])), 3),
              "auc": signals, "learned_precision_by_empty_rate": curve}
    print(f"{len(rows)} candidatas juzgadas ({unjudged} sin juzgar) en {len(cells)} celdas; "
          f"{report['cells_with_a_relevant_candidate']} celdas tienen al menos una pertinente")
    print(f"Precisión de la primera candidata de cada celda: {report['precision_of_first']}")
    for name, value in signals.items():
        print(f"  AUC {name}: {value}")
    print("Regresión logística (aspecto fuera): " + ", ".join(f"{float(k):.0%} vacías → {v}" for k, v in curve.items()))
    print(f"Resultados en {write_report(HERE / 'results' / 'compare-signals.json', report)}")


if __name__ == "__main__":
    main()
