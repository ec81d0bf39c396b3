"""Ingest speed: extraction+cleaning pages/s, embedding chunks/s, concept tagging
chunks/s, end-to-end ingest of the bundled corpus and of ../shared/real-pdfs (with
the time spent in each stage), and re-ingest of 100 unchanged files.

    python bench/ingestion.py                # everything
    python bench/ingestion.py --ingest-only  # only the end-to-end ingests

Prints the numbers and writes bench/results/ingest.json (or --out).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import ingest.extract as extract_module
import ingest.pipeline as pipeline
from ingest import kinds
from ingest.chunk import chunk_pages
from ingest.clean import clean_pages
from ingest.extract import extract
from ingest.pipeline import discover, ingest
from kb.concepts.tagger import Tagger
from kb.concepts.taxonomy import load_taxonomy
from kb.config import bundled_corpus_dir
from kb.errors import KBError
from kb.evaluation import write_report
from kb.index import KnowledgeBase
from kb.model.embedder import load_embedder
from kb.store.db import Store
from kb.store.vectors import VectorIndex

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# Where an ingest spends its time: (stage, owner, attribute) of each function timed.
# The pipeline's own steps are looked up in its namespace, so they are timed
# whichever thread calls them.
STAGES = [
    ("hash", pipeline, "file_sha256"),
    ("extract", extract_module, "extract"),
    ("clean", pipeline, "clean_pages"),
    ("chunk", pipeline, "chunk_pages"),
    ("classify", kinds, "classify"),
    ("lexical_terms", pipeline, "analyze"),
    ("tag", Tagger, "tag_document"),
    ("sqlite_write", Store, "insert_document"),
    ("sqlite_write", Store, "insert_pages"),
    ("sqlite_write", Store, "insert_chunks"),
    ("sqlite_write", Store, "replace_tags"),
    ("faiss", VectorIndex, "add"),
    ("faiss", VectorIndex, "save"),
]


@contextmanager
def stage_timer(embedder):
    """Seconds spent in each ingest stage (summed over threads) while the block runs."""
    seconds: dict[str, float] = defaultdict(float)
    lock = threading.Lock()

    def wrap(stage, fn):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with lock:
                    seconds[stage] += time.perf_counter() - start
        return timed_call

    patched = [(owner, name, getattr(owner, name)) for _, owner, name in STAGES]
    patched.append((embedder, "encode_passages", embedder.encode_passages))
    for stage, owner, name in STAGES:
        setattr(owner, name, wrap(stage, getattr(owner, name)))
    embedder.encode_passages = wrap("embed", embedder.encode_passages)
    try:
        yield seconds
    finally:
        for owner, name, original in reversed(patched):
            if owner is embedder:
                del embedder.encode_passages  # back to the class's method
            else:
                setattr(owner, name, original)


@contextmanager
def one_file_at_a_time(files, stored):
    """The pipeline without its producer thread: each file read only when its turn comes."""
    yield (pipeline._prepare(path, stored) for path in files)


@contextmanager
def sequential_ingest():
    overlapped = pipeline._prepared_ahead
    pipeline._prepared_ahead = one_file_at_a_time
    try:
        yield
    finally:
        pipeline._prepared_ahead = overlapped


def end_to_end(embedder, paths: list[Path]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(tmp, embedder.info)
        with stage_timer(embedder) as stages:
            summary, seconds = timed(lambda: ingest(kb, embedder, paths))
        chunks = kb.store.chunk_count()
        kb.close()
    return {
        "files": len(summary.results), "indexed": summary.count("indexed"),
        "failed": summary.count("failed"), "chunks": chunks,
        "seconds": round(seconds, 1), "chunks_per_s": round(chunks / seconds, 2),
        # Wall time the model sat idle: what overlapping can hide, and less sensitive
        # than the wall time to other load on the machine (which slows embedding most).
        "seconds_not_embedding": round(seconds - stages.get("embed", 0.0), 1),
        # Busy time per stage; with extraction overlapping embedding the sum exceeds the wall time.
        "stage_seconds": {k: round(v, 2) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
    }


def extraction(files: list[Path]) -> dict:
    pages = chunks = 0
    texts: list[str] = []
    start = time.perf_counter()
    for path in files:
        try:
            cleaned = clean_pages(extract(path).pages)
        except KBError:
            continue
        pages += len(cleaned)
        pieces = chunk_pages(path.stem, cleaned)
        chunks += len(pieces)
        texts += [c.text for c in pieces]
    seconds = time.perf_counter() - start
    return {"files": len(files), "pages": pages, "chunks": chunks, "seconds": round(seconds, 2),
            "pages_per_s": round(pages / seconds, 1)}, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-only", action="store_true", help="only the end-to-end ingests")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ingest.json")
    parser.add_argument("--pairs", type=int, default=0, metavar="N",
                        help="also ingest ../shared/real-pdfs N times one file at a time and N times "
                             "overlapped, alternating (the machine's load drifts between runs)")
    args = parser.parse_args()

    report: dict = {"benchmark": "ingest", "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    embedder = load_embedder()
    report["runtime"] = embedder.runtime("passage")

    if not args.ingest_only:
        sources = [bundled_corpus_dir()] + ([REAL_PDFS] if REAL_PDFS.is_dir() else [])
        files, _ = discover(sources)
        report["extract_clean_chunk"], texts = extraction(files)
        sample = texts[:256]
        _, seconds = timed(lambda: embedder.encode_passages(sample))
        report["embedding"] = {"chunks": len(sample), "seconds": round(seconds, 2),
                               "chunks_per_s": round(len(sample) / seconds, 1)}

        tagger = Tagger(load_taxonomy())
        tagger.tag("Becatini")  # loads the word lists outside the timing
        tags, seconds = timed(lambda: tagger.tag_document(texts))
        report["tagging"] = {"chunks": len(texts), "tags": sum(map(len, tags)), "seconds": round(seconds, 2),
                             "chunks_per_s": round(len(texts) / seconds, 1)}

    report["ingest_bundled_corpus"] = end_to_end(embedder, [bundled_corpus_dir()])
    if REAL_PDFS.is_dir() and args.pairs:
        report["real_pdfs_sequential_vs_overlapped"], report["ingest_real_pdfs"] = paired(embedder, args.pairs)
    elif REAL_PDFS.is_dir():
        report["ingest_real_pdfs"] = end_to_end(embedder, [REAL_PDFS])

    if not args.ingest_only:
        report["reingest_100_unchanged"] = reingest_unchanged(embedder)

    for key, value in report.items():
        print(f"{key}: {value}")
    print(f"Resultados en {write_report(args.out, report)}")


def paired(embedder, pairs: int) -> tuple[dict, dict]:
    """Medians of each mode, and the last overlapped run (the pipeline as shipped)."""
    runs: dict[str, list[dict]] = {"sequential": [], "overlapped": []}
    for _ in range(pairs):
        with sequential_ingest():
            runs["sequential"].append(end_to_end(embedder, [REAL_PDFS]))
        runs["overlapped"].append(end_to_end(embedder, [REAL_PDFS]))
    out: dict = {}
    for mode, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        out[mode] = {"seconds": [r["seconds"] for r in results], "median_seconds": seconds,
                     "chunks": results[0]["chunks"], "median_chunks_per_s": round(results[0]["chunks"] / seconds, 2),
                     "seconds_not_embedding": [r["seconds_not_embedding"] for r in results],
                     "stage_seconds": results[-1]["stage_seconds"]}
    out["speedup"] = round(out["sequential"]["median_seconds"] / out["overlapped"]["median_seconds"], 3)
    return out, runs["overlapped"][-1]


def reingest_unchanged(embedder) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notas"
        folder.mkdir()
        source = (bundled_corpus_dir() / "saravi-1998-distritos-mexico.txt").read_text(encoding="utf-8")
        for i in range(100):
            (folder / f"nota-{i:03d}.txt").write_text(f"Nota {i}. " + source[i * 50 : i * 50 + 1500], encoding="utf-8")
        kb = KnowledgeBase(Path(tmp) / "index", embedder.info)
        ingest(kb, embedder, [folder])
        summary, seconds = timed(lambda: ingest(kb, embedder, [folder]))
        kb.close()
    return {"unchanged": summary.count("unchanged"), "seconds": round(seconds, 3)}


if __name__ == "__main__":
    main()
