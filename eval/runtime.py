"""The gate for a model runtime: ONNX Runtime must give the vectors and rankings torch gives.

Indexes the bundled corpus (with the real PDFs of ../shared/real-pdfs as
distractors) twice, once embedding with torch (sentence-transformers, the
precision `KB_PRECISION` picks) and once with ONNX Runtime, then checks:

- cosine of the two runtimes' vectors for 200 stored passages (≥ 0.999) and for
  every dev query;
- the dev questions' top-10 lists (hybrid and dense), identical in order: an
  index and queries both on ONNX, and an index embedded by torch (every index
  made before this runtime existed) queried through ONNX, against torch for both.
  Passages whose scores differ by less than TIE (the same text in two PDFs scores
  the same to 1e-7) have no order to keep: lists that differ only by swapping
  them count as identical up to ties, and torch against itself (each query
  encoded alone instead of in one batch) shows how often that happens anyway.

    python eval/runtime.py [--set eval/dev.jsonl] [--workdir DIR] [--passages 200]

Writes eval/results/runtime.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DISTRACTORS = HERE.parent.parent / "shared" / "real-pdfs"
COSINE_GATE = 0.999
TIE = 1e-5


def build(directory: Path, embedder, sources: list[Path]):
    """The index in `directory`, ingested now unless a previous run left it complete."""
    from ingest.pipeline import ingest
    from kb.index import KnowledgeBase

    kb = KnowledgeBase(directory, embedder.info)
    start = time.perf_counter()
    summary = ingest(kb, embedder, sources)
    seconds = time.perf_counter() - start
    embedded = sum(r.chunks for r in summary.results if r.status in ("indexed", "replaced"))
    return kb, (round(embedded / seconds, 2) if embedded else None)


def main() -> None:
    from kb.ask.search import search
    from kb.config import bundled_corpus_dir
    from kb.evaluation import load_set, write_report
    from kb.model.embedder import LazyEmbedder
    from kb.model.resolve import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=HERE / "dev.jsonl")
    parser.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the two indexes here")
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "runtime.json")
    args = parser.parse_args()

    info = resolve_model()
    runtimes = {name: LazyEmbedder(info, runtime=name) for name in ("torch", "onnx")}
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-runtime-"))
    sources = [bundled_corpus_dir()] + ([DISTRACTORS] if DISTRACTORS.is_dir() else [])
    indexes, speeds = {}, {}
    for name, embedder in runtimes.items():
        indexes[name], speeds[name] = build(workdir / name, embedder, sources)
        print(f"índice {name}: {indexes[name].store.chunk_count()} pasajes"
              + (f", {speeds[name]} pasajes/s al indexar" if speeds[name] else " (ya estaba)"), flush=True)

    store = indexes["torch"].store
    texts = [text for d in store.documents() for _, text in store.chunk_texts(d.doc_id)]
    sample = [texts[i] for i in np.linspace(0, len(texts) - 1, min(args.passages, len(texts))).astype(int)]
    passage_cos = np.sum(runtimes["torch"].encode_passages(sample) * runtimes["onnx"].encode_passages(sample), axis=1)
    items = load_set(args.set)
    queries = [item["query"] for item in items]
    q = {name: embedder.encode_queries(queries) for name, embedder in runtimes.items()}
    query_cos = np.sum(q["torch"] * q["onnx"], axis=1)

    # Control: torch's own vectors for each query encoded alone (batches change the last bits).
    q["torch, una a una"] = np.vstack([runtimes["torch"].encode_queries([query]) for query in queries])

    def top10(index: str, runtime: str, mode: str) -> list[list[tuple[str, float]]]:
        kb, encoder = indexes[index], runtimes[runtime.split(",")[0]]
        return [[(h.chunk.chunk_id, h.score) for h in search(kb, encoder, query, k=10, mode=mode, query_vector=v)]
                for query, v in zip(queries, q[runtime])]

    def up_to_ties(reference: list[tuple[str, float]], found: list[tuple[str, float]]) -> bool:
        """The same score at every rank (within TIE): passages may only trade places with
        ones that score the same, at rank 10 too."""
        return len(reference) == len(found) and all(
            a == b or abs(x - y) < TIE for (a, x), (b, y) in zip(reference, found))

    lists = {}
    for mode in ("hybrid", "dense"):
        reference = top10("torch", "torch", mode)
        for index, runtime in (("onnx", "onnx"), ("torch", "onnx"), ("torch", "torch, una a una")):
            found = top10(index, runtime, mode)
            lists[f"{mode}: índice {index}, consultas {runtime}"] = {
                "identical": sum([c for c, _ in a] == [c for c, _ in b] for a, b in zip(reference, found)),
                "identical_up_to_ties": sum(up_to_ties(a, b) for a, b in zip(reference, found)),
                "queries": len(queries),
                "differ": [item["id"] for item, a, b in zip(items, reference, found)
                           if [c for c, _ in a] != [c for c, _ in b]],
            }

    passed = bool(passage_cos.min() >= COSINE_GATE
                  and all(v["identical_up_to_ties"] == v["queries"] for v in lists.values()))
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_fingerprint": info.fingerprint,
        "torch_precision": runtimes["torch"].engine("passage").precision,
        "passages": len(sample),
        "passage_cosine": {"min": round(float(passage_cos.min()), 6), "mean": round(float(passage_cos.mean()), 6)},
        "query_cosine": {"min": round(float(query_cos.min()), 6), "mean": round(float(query_cos.mean()), 6)},
        "top10": lists,
        "ingest_passages_per_s": speeds,
        "passed": passed,
    }
    print(f"coseno torch/ONNX en {len(sample)} pasajes: mín {report['passage_cosine']['min']}, "
          f"media {report['passage_cosine']['mean']} (umbral {COSINE_GATE})")
    print(f"coseno en {len(queries)} consultas: mín {report['query_cosine']['min']}")
    for name, v in lists.items():
        print(f"top-10 idénticos ({name}): {v['identical']}/{v['queries']}, salvo empates "
              f"(< {TIE}): {v['identical_up_to_ties']}/{v['queries']}")
    print("PUERTA SUPERADA" if passed else "PUERTA NO SUPERADA")
    for kb in indexes.values():
        kb.close()
    print(f"Resultados en {write_report(args.out, report)}")


if __name__ == "__main__":
    main()
