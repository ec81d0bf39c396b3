"""Ingest speed: extraction+cleaning pages/s, embedding chunks/s, concept tagging
chunks/s, end-to-end ingest of the bundled corpus and of ../shared/real-pdfs, and
re-ingest of 100 unchanged files.

    python bench/ingestion.py

Prints the numbers and writes bench/results/ingest.json.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ingest.chunk import chunk_pages
from ingest.clean import clean_pages
from ingest.extract import extract
from ingest.pipeline import discover, ingest
from kb.config import bundled_corpus_dir
from kb.embedder import load_embedder
from kb.errors import KBError
from kb.evaluation import write_report
from kb.index import KnowledgeBase
from kb.tagger import Tagger
from kb.taxonomy import load_taxonomy

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


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
    report: dict = {"benchmark": "ingest", "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    embedder = load_embedder()
    report["precision"] = embedder.precision

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

    for name, paths in (("bundled_corpus", [bundled_corpus_dir()]), ("real_pdfs", [REAL_PDFS])):
        if not all(p.is_dir() for p in paths):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            kb = KnowledgeBase(tmp, embedder.info)
            summary, seconds = timed(lambda: ingest(kb, embedder, paths))
            report[f"ingest_{name}"] = {
                "files": len(summary.results), "indexed": summary.count("indexed"),
                "failed": summary.count("failed"), "chunks": kb.store.chunk_count(),
                "seconds": round(seconds, 1),
            }
            kb.close()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notas"
        folder.mkdir()
        source = (bundled_corpus_dir() / "saravi-1998-distritos-mexico.txt").read_text(encoding="utf-8")
        for i in range(100):
            (folder / f"nota-{i:03d}.txt").write_text(f"Nota {i}. " + source[i * 50 : i * 50 + 1500], encoding="utf-8")
        kb = KnowledgeBase(Path(tmp) / "index", embedder.info)
        ingest(kb, embedder, [folder])
        summary, seconds = timed(lambda: ingest(kb, embedder, [folder]))
        report["reingest_100_unchanged"] = {"unchanged": summary.count("unchanged"), "seconds": round(seconds, 3)}
        kb.close()

    for key, value in report.items():
        print(f"{key}: {value}")
    out = HERE / "results" / "ingest.json"
    print(f"Resultados en {write_report(out, report)}")


if __name__ == "__main__":
    main()
