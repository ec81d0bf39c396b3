"""Hard-negative candidates: passages of the same document that the current model ranks
above a question's own passage.

    python -m train.mine candidates OUT.jsonl [--per-question 3]
    python -m train.mine apply JUDGED.jsonl...

`candidates` writes, for each training question, the passages ranked above its
positive (at most --per-question), with their text, for a reader to judge a second
time. A judged line adds `"answers": [true|false, ...]` beside the candidates;
`apply` keeps as hard negatives only those judged not to answer. Passage vectors
are cached per document and model in the user cache.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np

from kb import config
from kb.files import write_atomic
from train.corpus import Span, by_sha, numbered, passages
from train.pairs import load, write


def passage_vectors(embedder, filename: str, sha256: str) -> np.ndarray:
    cache = config.cache_dir() / "train-vectors" / f"{sha256[:16]}-{embedder.info.fingerprint[:16]}.npy"
    if cache.is_file():
        return np.load(cache)
    vectors = embedder.encode_passages([p.text for p in passages(filename)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    write_atomic(cache, buffer.getvalue())
    return vectors


def ranked_above(query_vector: np.ndarray, vectors: np.ndarray, positive: int) -> list[int]:
    """Passage numbers scoring above the positive, best first."""
    scores = vectors @ query_vector
    order = np.argsort(-scores, kind="stable")
    above = []
    for n in order:
        if n == positive:
            break
        above.append(int(n))
    return above


def candidates(per_question: int) -> list[dict]:
    from kb.model.embedder import load_embedder

    embedder = load_embedder()
    documents = by_sha()
    out = []
    rows = load()
    for sha in sorted({r["sha256"] for r in rows}):
        filename = documents[sha].filename
        pieces = passages(filename)
        vectors = passage_vectors(embedder, filename, sha)
        mine = [r for r in rows if r["sha256"] == sha]
        queries = embedder.encode_queries([r["query"] for r in mine])
        for row, vector in zip(mine, queries):
            positive = numbered(filename)[Span.from_row(row)]
            above = ranked_above(vector, vectors, positive)
            out.append({"id": row["id"], "doc": filename, "query": row["query"], "answer": row["answer"],
                        "rank": len(above) + 1,
                        "candidates": [{"p": n, "text": pieces[n].text} for n in above[:per_question]]})
        print(f"{filename}: {len(mine)} preguntas", flush=True)
    return out


def apply(judged: list[dict]) -> int:
    rows = {r["id"]: r for r in load()}
    documents = by_sha()
    kept = 0
    for line in judged:
        row = rows.get(line["id"])
        if row is None:
            continue
        pieces = passages(documents[row["sha256"]].filename)
        negatives = [Span.of(pieces[c["p"]]).as_row()
                     for c, answers in zip(line["candidates"], line["answers"]) if answers is False]
        row["negatives"] = negatives
        kept += len(negatives)
    write(list(rows.values()))
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    making = sub.add_parser("candidates")
    making.add_argument("out", type=Path)
    making.add_argument("--per-question", type=int, default=3)
    applying = sub.add_parser("apply")
    applying.add_argument("judged", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "candidates":
        lines = candidates(args.per_question)
        with open(args.out, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        first = sum(1 for line in lines if line["rank"] == 1)
        print(f"{len(lines)} preguntas; su pasaje ya es el primero en {first}")
    else:
        judged = [json.loads(line) for path in args.judged
                  for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(f"negativos difíciles guardados: {apply(judged)}")


if __name__ == "__main__":
    main()
