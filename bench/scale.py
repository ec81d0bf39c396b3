"""Scale: build time, peak memory, disk, warm query latency and ANN recall at 10k-1M chunks.

    python bench/scale.py [--sizes 10000,100000,1000000] [--rounds 2]

Each size is built in a fresh temporary directory by its own subprocess (so
ru_maxrss is that size's peak) through the product's code paths: documents of
50-200 chunks inserted with the Store API, one transaction per document with
concept tagging and a generation bump, vectors added to `kb.vectors` per
document and saved once, as ingest/pipeline.py does. Texts recombine the
bundled corpus's sentences (shuffled, numbers and places swapped, rare
pseudo-words added); vectors are real e5 vectors of the bundled chunks mixed
pairwise plus Gaussian noise, renormalised ("structured": clusters, as in real
data). Queries are the 62 questions of eval/dev.jsonl with their real e5
vectors, precomputed: latencies exclude the model (its per-query encoding time
is reported apart as `query_embed_ms`). Recall@10 of the product's index is
measured against exact search on 200 queries (the 62 real ones plus perturbed
chunk vectors), and, for reference, on pure random unit vectors, which have no
neighbourhood structure and are the pessimistic case for any ANN index.

Writes bench/results/scale.json and bench/results/scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIZES = (10_000, 100_000, 1_000_000)
RECALL_QUERIES = 200
NOISE = 0.013  # per-dimension sd: noise norm ~0.25 against unit vectors
PLACES = ["Chile", "Perú", "México", "Colombia", "Argentina", "Bolivia", "Ecuador", "Uruguay", "Paraguay",
          "Brasil", "Medellín", "Lima", "Santiago", "Guadalajara", "Monterrey", "Bogotá", "Cali", "Quito",
          "Cusco", "Arequipa", "Valparaíso", "Concepción", "Rosario", "Córdoba", "Puebla", "León", "Toluca",
          "Villa El Salvador", "Gamarra", "Antioquia", "Jalisco", "Biobío", "Araucanía", "Cochabamba"]
_PLACE = re.compile("|".join(sorted((re.escape(p) for p in PLACES), key=len, reverse=True)))
_NUMBER = re.compile(r"\d+")
_SYLLABLES = ["ca", "lo", "tri", "men", "sa", "ru", "pe", "ta", "qui", "no", "va", "dor", "zu", "bel", "xi",
              "gon", "fra", "lu", "mi", "ter", "cho", "ña", "pla", "sur", "te", "ko", "wa", "bri", "den", "jo"]


# synthetic corpus ----------------------------------------------------------------


class Generator:
    """Documents of recombined corpus sentences, with their analysed text and vectors."""

    def __init__(self, seed: dict, rng: np.random.Generator) -> None:
        from kb.config import bundled_corpus_dir
        from kb.text.analysis import analyze

        self.analyze = analyze
        self.rng = rng
        text = " ".join(p.read_text(encoding="utf-8") for p in sorted(bundled_corpus_dir().glob("*.txt")))
        sentences = [s.strip() for s in re.split(r"(?<=[.!?;])\s+", " ".join(text.split()))]
        self.sentences = [s for s in sentences if 5 <= len(s.split()) <= 60]
        self.base = seed["vectors"].astype(np.float32)
        # Rare-token vocabulary: pseudo-words drawn by a Zipf law, so a few recur and most are rare.
        vocab = {"".join(rng.choice(_SYLLABLES, rng.integers(3, 6))) for _ in range(60_000)}
        self.vocab = sorted(vocab)
        self._analyzed: dict[str, str] = {}

    def _analyzed_of(self, piece: str) -> str:
        # Analysis is per word, so a chunk's analysis is the join of its pieces';
        # caching pieces keeps generation from dominating the build time.
        value = self._analyzed.get(piece)
        if value is None:
            value = self._analyzed[piece] = self.analyze(piece)
        return value

    def _sentence(self) -> str:
        rng = self.rng
        sentence = self.sentences[rng.integers(len(self.sentences))]
        if rng.random() < 0.5:
            sentence = _NUMBER.sub(lambda m: str(rng.integers(1, 10 ** len(m.group()))), sentence)
        if rng.random() < 0.5:
            sentence = _PLACE.sub(lambda m: PLACES[rng.integers(len(PLACES))], sentence)
        return sentence

    def _rare(self) -> str:
        return self.vocab[min(int(self.rng.zipf(1.3)) - 1, len(self.vocab) - 1)]

    def chunk(self) -> tuple[str, str]:
        """(text, analysed text) of 120-220 words."""
        target = self.rng.integers(120, 221)
        pieces, words = [], 0
        while words < target:
            piece = self._sentence()
            if self.rng.random() < 0.3:
                piece = f"{piece} {self._rare()}"
            pieces.append(piece)
            words += piece.count(" ") + 1
        analyzed = " ".join(a for a in map(self._analyzed_of, pieces) if a)
        if len(self._analyzed) > 200_000:
            self._analyzed.clear()  # bounded: numbers make most pieces unique
        return " ".join(pieces), analyzed

    def vectors(self, count: int) -> np.ndarray:
        return mixed_vectors(self.base, self.rng, count, NOISE)


def mixed_vectors(base: np.ndarray, rng: np.random.Generator, count: int, noise: float) -> np.ndarray:
    """Unit vectors near the segment between two random `base` rows, plus Gaussian noise."""
    a = rng.integers(len(base), size=count)
    b = rng.integers(len(base), size=count)
    mix = rng.uniform(0.6, 1.0, size=(count, 1)).astype(np.float32)
    v = mix * base[a] + (1 - mix) * base[b]
    v += rng.normal(0, noise, size=v.shape).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def add_document(kb, gen: Generator, number: int, chunks: int, tag: bool = False) -> None:
    """One synthetic document through the store, in one transaction, as ingest does
    (concept tagging only with `tag`: it is measured apart, see `tagging_ms`)."""
    from kb.records import Chunk, CleanPage, DocumentMeta

    doc_id = f"sintetico-{number:06d}"
    texts = [gen.chunk() for _ in range(chunks)]
    pages = [CleanPage(p + 1, str(p + 1), text, text, "ok")
             for p, text in enumerate(" ".join(t for t, _ in texts[i:i + 3]) for i in range(0, chunks, 3))]
    pieces = [Chunk(doc_id, i, f"{doc_id}:{i:05d}", text, i // 3 + 1, i // 3 + 1, 0, len(text), i + 1, i + 1, None)
              for i, (text, _) in enumerate(texts)]
    meta = DocumentMeta(title=f"Documento sintético {number}", authors=(f"Autor {number % 997}",),
                        year=1990 + number % 35)
    vectors = gen.vectors(chunks)
    store = kb.store
    with store.atomic():
        document = store.insert_document(doc_id, f"/sintetico/{doc_id}.pdf", f"{number:064x}", "pdf", meta, None)
        store.insert_pages(document, pages)
        ids = store.insert_chunks(document, pieces, [a for _, a in texts], vectors)
        if tag:
            kb.tag_document(doc_id)
        kb.bump_generation()
    kb.vectors.add(np.array(ids, dtype=np.int64), vectors, kb.model)


# one size, in its own process -------------------------------------------------------


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _disk_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 2 ** 20


def _percentiles(times: list[float]) -> tuple[float, float]:
    return round(float(np.percentile(times, 50)), 1), round(float(np.percentile(times, 95)), 1)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found.tolist(), truth.tolist())]))


def run_size(size: int, rounds: int, directory: Path) -> dict:
    from scale_seed import load_seed  # bench/ is on sys.path when this script runs

    from kb.ask.search import CANDIDATES, MODES, expand_query, search
    from kb.index import KnowledgeBase
    from kb.model.resolve import resolve_model
    from kb.store import vectors as vector_module
    from kb.text.analysis import fts_query

    seed = load_seed()
    model = resolve_model()
    built = directory / "build.json"
    if not built.exists():  # a kept directory (--keep) is measured again without rebuilding
        built.write_text(json.dumps(build(size, directory, seed, model)))
    result = json.loads(built.read_text())

    # Warm queries on a fresh opening, as the CLI or the app would hold it.
    start = time.perf_counter()
    kb = KnowledgeBase(directory, model)
    open_s = time.perf_counter() - start
    start = time.perf_counter()
    sparse = kb.sparse_lexical()  # built from SQLite on first use in a large library, then saved
    result["lexical_index"] = "memoria (kb/lexical.py)" if sparse is not None else "fts5"
    result["lexical_index_s"] = round(time.perf_counter() - start, 1) if sparse is not None else None
    result["disk_mb"] = round(_disk_mb(directory))
    queries = [str(q) for q in seed["queries"]]
    query_vectors = seed["query_vectors"]
    for query, vector in zip(queries[:5], query_vectors):
        for mode in MODES:
            search(kb, None, query, k=10, mode=mode, query_vector=vector)
    result |= {
        "chunks": kb.store.chunk_count(),
        "index": kb.vectors.kind,
        "vectors": "structured",
        "open_s": round(open_s, 2),
        "queries": len(queries) * rounds,
        "query_embed_ms": round(float(seed["query_ms"]), 1),
    }
    # Latencies on a shared machine are only as quiet as its load: record it.
    result["load_avg_before"] = round(os.getloadavg()[0], 1)
    for mode in MODES:
        times = []
        for _ in range(rounds):
            for query, vector in zip(queries, query_vectors):
                t = time.perf_counter()
                search(kb, None, query, k=10, mode=mode, query_vector=vector)
                times.append((time.perf_counter() - t) * 1000)
        result[f"{mode}_p50_ms"], result[f"{mode}_p95_ms"] = _percentiles(times)
    result["load_avg_after"] = round(os.getloadavg()[0], 1)
    result["query_rss_mb"] = round(_rss_now_mb())
    # What FTS5's bm25() alone costs at this size (the path below kb.lexical.SPARSE_MIN).
    times = []
    for query in queries:
        match = fts_query(expand_query(kb, query).lexical)
        t = time.perf_counter()
        kb.store.lexical(match, CANDIDATES)
        times.append((time.perf_counter() - t) * 1000)
    result["lexical_fts5_p50_ms"], result["lexical_fts5_p95_ms"] = _percentiles(times)
    # Peak of a process that ingests and then searches: the build's and this one's.
    peak_here = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["peak_rss_mb"] = max(result["build_rss_mb"], peak_here)

    # Recall@10 of the product's index against exact search over the same vectors.
    ids, matrix = kb.store.all_vectors(model.dimension)
    rng = np.random.default_rng(size + 1)
    perturbed = mixed_vectors(matrix[rng.choice(len(matrix), 500, replace=False)], rng,
                              RECALL_QUERIES - len(query_vectors), 2 * NOISE)
    probe = np.concatenate([query_vectors, perturbed])
    result["recall_at_10"] = round(_recall(kb.vectors.search(probe, 10)[1], _exact(matrix, ids, probe)), 4)
    result["nlist"] = kb.vectors.nlist
    result["nprobe"] = vector_module.NPROBE if kb.vectors.kind == "ivf" else None
    # Concept tagging, left out of the build: its cost per chunk on a sample.
    sample = [text for _, text in kb.store.chunk_texts(kb.store.documents()[0].doc_id)][:100]
    t = time.perf_counter()
    kb.tagger.tag_document(sample)
    result["tagging_ms_per_chunk"] = round((time.perf_counter() - t) * 1000 / len(sample), 1)
    # What a rebuild from SQLite costs (the product's path after a crash or a model check).
    t = time.perf_counter()
    kb.rebuild_vectors()
    result["rebuild_vectors_s"] = round(time.perf_counter() - t, 1)
    kb.close()
    del matrix

    # Reference: the same index type over pure random unit vectors.
    rng = np.random.default_rng(size + 3)
    noise = rng.standard_normal((size, model.dimension), dtype=np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    probe = rng.standard_normal((RECALL_QUERIES, model.dimension), dtype=np.float32)
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    ids = np.arange(1, size + 1, dtype=np.int64)
    random_index = vector_module.VectorIndex.build(directory / "random", model, ids, noise)
    result["recall_at_10_random"] = round(_recall(random_index.search(probe, 10)[1], _exact(noise, ids, probe)), 4)
    return result


def build(size: int, directory: Path, seed: dict, model) -> dict:
    from kb.index import KnowledgeBase

    rng = np.random.default_rng(size)
    gen = Generator(seed, rng)
    start = time.perf_counter()
    kb = KnowledgeBase(directory, model)
    inserted, number = 0, 0
    while inserted < size:
        chunks = int(min(rng.integers(50, 201), size - inserted))
        add_document(kb, gen, number, chunks)
        inserted += chunks
        number += 1
        if number % 200 == 0:
            print(f"  {inserted} fragmentos, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    kb.save_vectors()
    kb.close()
    return {"documents": number, "build_s": round(time.perf_counter() - start, 1),
            "build_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "disk_mb": round(_disk_mb(directory))}


def _exact(matrix: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    flat = faiss.IndexFlatIP(matrix.shape[1])
    flat.add(matrix)
    return ids[flat.search(np.ascontiguousarray(queries, dtype=np.float32), 10)[1]]


# driver -------------------------------------------------------------------------------


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = [r["chunks"] for r in results]
    for mode, color in (("lexical", "tab:blue"), ("dense", "tab:orange"), ("hybrid", "tab:green")):
        ax.plot(sizes, [r[f"{mode}_p50_ms"] for r in results], "o-", color=color, label=f"{mode} p50")
        ax.plot(sizes, [r[f"{mode}_p95_ms"] for r in results], "s--", color=color, label=f"{mode} p95")
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("fragmentos (chunks)")
    ax.set_ylabel("latencia en caliente (ms, sin el modelo)")
    ax.set_title("kb: latencia de búsqueda según el tamaño del corpus")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="chunk counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the 62 queries per mode")
    parser.add_argument("--workdir", type=Path, help="build in WORKDIR/<size> and keep it; a kept size is "
                        "measured again without rebuilding (default: temporary, deleted)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one size, JSON to stdout
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one and args.build_only:
        from scale_seed import load_seed

        from kb.model.resolve import resolve_model

        args.dir.mkdir(parents=True, exist_ok=True)
        (args.dir / "build.json").write_text(json.dumps(build(args.one, args.dir, load_seed(), resolve_model())))
        return
    if args.one:
        print(json.dumps(run_size(args.one, args.rounds, args.dir)))
        return

    from scale_seed import load_seed  # bench/ is on sys.path when this script runs

    load_seed()  # embeds once with the real model, before any timed process
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        directory = args.workdir / str(size) if args.workdir else Path(tempfile.mkdtemp(prefix=f"kb-scale-{size}-"))
        directory.mkdir(parents=True, exist_ok=True)
        print(f"{size} fragmentos en {directory}", file=sys.stderr, flush=True)
        try:
            out = subprocess.run([sys.executable, __file__, "--one", str(size), "--rounds", str(args.rounds),
                                  "--dir", str(directory)], check=True, stdout=subprocess.PIPE, text=True)
        finally:
            if not args.workdir:
                shutil.rmtree(directory, ignore_errors=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    report = [{"benchmark": "scale", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "cpus": os.cpu_count(), **r} for r in results]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(results, RESULTS / "scale.png")
    print(f"Resultados en {RESULTS / 'scale.json'} y {RESULTS / 'scale.png'}")


if __name__ == "__main__":
    main()
