"""Which fusion of BM25 and dense rankings holds for every query style (dev set only).

Runs both retrievers once per query on an index built by eval/retrieval.py
(`--index DIR`), then ranks the candidates with each fusion rule: reciprocal-rank
fusion with several k and weights, a convex combination of min-max normalised
scores, and weights that follow how rare the query's terms are in the library.
For each rule it prints hit@1 per style and overall, recall@5, and the worst gap
to the better single retriever of that style; kb uses the rule whose worst gap is smallest
(`kb.ask.search.fuse` with `lexical_share`: "convexa α=0.3, inglés 0.1").

    python eval/fusion.py --index DIR [--set eval/dev.jsonl]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def rrf(lexical, dense, k: float, w_lexical: float, w_dense: float) -> list[int]:
    scores: dict[int, float] = {}
    for ranking, weight in ((lexical, w_lexical), (dense, w_dense)):
        for rank, (i, _) in enumerate(ranking, 1):
            scores[i] = scores.get(i, 0.0) + weight / (k + rank)
    return [i for i, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def rarity(kb, query: str) -> float:
    """Mean of log(N / df) / log(N) over the query's terms the library holds (0..1)."""
    from kb.text.analysis import terms

    total = kb.store.chunk_count()
    counts = [n for n in (kb.store.term_count(t) for t in dict.fromkeys(terms(query))) if n]
    return float(np.mean([np.log(total / n) / np.log(total) for n in counts])) if counts and total > 1 else 0.0


def convex(lexical, dense, share: float) -> list[int]:
    from kb.ask.search import fuse

    return [i for i, _ in fuse(lexical, dense, share)]


def main() -> None:
    from kb.ask.search import dense_ranking, expand_query, lexical_ranking
    from kb.evaluation import contains_answer, load_set
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder
    from kb.text.analysis import is_english

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--set", type=Path, default=HERE / "dev.jsonl")
    args = parser.parse_args()
    items = load_set(args.set)
    embedder = load_embedder()
    kb = KnowledgeBase.read(args.index, embedder.info)
    vectors = embedder.encode_queries([item["query"] for item in items])
    runs = []
    for item, vector in zip(items, vectors):
        lexical = lexical_ranking(kb, expand_query(kb, item["query"]).lexical, 50, None)
        dense = dense_ranking(kb, vector, 50, None)
        hidden = kb.store.not_searched({i for i, _ in lexical + dense})
        lexical = [(i, s) for i, s in lexical if i not in hidden]
        dense = [(i, s) for i, s in dense if i not in hidden]
        rows = kb.store.chunks({i for i, _ in lexical + dense})
        relevant = {i for i, row in rows.items()
                    if row.doc_id == item["doc_id"] and contains_answer(row.text, item["answer"])}
        runs.append((item, lexical, dense, relevant, (rarity(kb, item["query"]), is_english(item["query"]))))

    rules = {"lexical": lambda lx, dn, sh: [i for i, _ in lx], "dense": lambda lx, dn, sh: [i for i, _ in dn]}
    for k in (10, 30, 60):
        for wl, wd in ((1, 6), (1, 3), (1, 2), (1, 1), (2, 1)):
            rules[f"RRF k={k} {wl}:{wd}"] = lambda lx, dn, sh, k=k, wl=wl, wd=wd: rrf(lx, dn, k, wl, wd)
    for alpha in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6):
        rules[f"convexa α={alpha}"] = lambda lx, dn, sh, a=alpha: convex(lx, dn, a)
    for base, gain in ((0.5, 1.5), (1.0, 2.0), (0.5, 3.0), (1.0, 4.0)):
        rules[f"RRF k=10 raras {base}+{gain}·s"] = (
            lambda lx, dn, sh, b=base, g=gain: rrf(lx, dn, 10, b + g * sh[0], 2.0))
        rules[f"convexa raras {base / 4:.2f}+{gain / 8:.2f}·s"] = (
            lambda lx, dn, sh, b=base, g=gain: convex(lx, dn, min(0.9, b / 4 + g / 8 * sh[0])))
    # English questions over Spanish text: BM25 shares few words with the passage.
    for alpha in (0.25, 0.3, 0.35, 0.4, 0.5, 0.55, 0.6):
        for english in (0.0, 0.1, 0.2):
            rules[f"convexa α={alpha}, inglés {english}"] = (
                lambda lx, dn, sh, a=alpha, e=english: convex(lx, dn, e if sh[1] else a))
    for english in (1.0, 3.0, 6.0):
        rules[f"RRF k=10 1:1, inglés 1:{english:g}"] = (
            lambda lx, dn, sh, e=english: rrf(lx, dn, 10, 1.0, e if sh[1] else 1.0))

    styles = sorted({item.get("style", "?") for item in items})
    table = {}
    for name, rule in rules.items():
        hits = {s: [] for s in styles}
        found = []
        for item, lexical, dense, relevant, share in runs:
            ranked = rule(lexical, dense, share)
            hits[item.get("style", "?")].append(bool(ranked) and ranked[0] in relevant)
            found.append(bool(relevant & set(ranked[:5])))
        table[name] = {s: float(np.mean(v)) for s, v in hits.items()}
        table[name]["todas"] = float(np.mean([h for v in hits.values() for h in v]))
        table[name]["R@5"] = float(np.mean(found))
    best_single = {s: max(table["lexical"][s], table["dense"][s]) for s in styles}
    columns = [*styles, "todas", "R@5"]
    print(f"{'regla':<30}" + "".join(f"{s[:12]:>13}" for s in columns) + f"{'peor brecha':>13}")
    for name, row in table.items():
        gap = min(row[s] - best_single[s] for s in styles)
        print(f"{name:<30}" + "".join(f"{row[s]:>13.3f}" for s in columns) + f"{gap:>13.3f}")
    print(f"({len(items)} consultas: " + ", ".join(f"{s} {sum(i.get('style') == s for i in items)}" for s in styles)
          + ")")
    kb.close()


if __name__ == "__main__":
    main()
