"""Retrieval quality of `kb search` (lexical, dense, hybrid) per query style, next to two baselines.

The bundled corpus is ingested into a fresh index, with the real-world PDFs of
../shared/real-pdfs as distractors when present. A hit is relevant when it
comes from the query's document and contains the labelled answer
(`kb.evaluation.contains_answer`).

The baselines rank whole extracted paragraphs (the stored clean pages split at
blank lines, no chunking) by plain BM25 over Snowball stems and by the same
model kb embeds with: the simple things kb must not lose to, on any style.

    python eval/retrieval.py [--set eval/dev.jsonl] [--no-distractors] [--index DIR] [--no-baselines]

Prints hit@1 per style and per voice, and hit@1, recall@5 and MRR@10 overall per system, and
writes eval/results/.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DISTRACTORS = HERE.parent.parent / "shared" / "real-pdfs"
STYLES = ("shared-words", "paraphrase", "english", "misspelled", "keyword")
VOICES = ("concepto", "comparación", "dato")


def paragraphs(store) -> list[tuple[str, str]]:
    """(doc_id, paragraph) for every blank-line paragraph of every usable stored page."""
    out = []
    for document in store.documents():
        for page in store.pages(document.doc_id):
            if page.status == "ok":
                out += [(document.doc_id, p.strip()) for p in re.split(r"\n\s*\n", page.text) if p.strip()]
    return out


def bm25_rankings(texts: list[str], queries: list[str], limit: int = 10) -> list[list[int]]:
    """The best `limit` texts per query by BM25 over Snowball stems: kb's own in-memory
    BM25 (kb.store.lexical, FTS5's k1, b and idf) built over the texts instead of chunks."""
    from kb.store import lexical
    from kb.text.analysis import VERSION, analyze, terms

    index = lexical.build(((i, analyze(t)) for i, t in enumerate(texts)), 0, VERSION)
    return [[i for i, _ in index.search(terms(query), limit)] for query in queries]


def first_relevant(ranked: list[tuple[str, str]], item: dict) -> int | None:
    from kb.evaluation import contains_answer

    return next((rank for rank, (doc_id, text) in enumerate(ranked, 1)
                 if doc_id == item["doc_id"] and contains_answer(text, item["answer"])), None)


def main() -> None:
    from ingest.pipeline import ingest
    from kb.ask.search import MODES, search
    from kb.config import bundled_corpus_dir
    from kb.evaluation import format_metrics, load_set, metrics, write_report
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=HERE / "dev.jsonl")
    parser.add_argument("--no-distractors", action="store_true")
    parser.add_argument("--index", type=Path, default=None, help="reuse (or build) the index here")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    items = load_set(args.set)
    embedder = load_embedder()
    directory = args.index or Path(tempfile.mkdtemp(prefix="kb-eval-"))
    kb = KnowledgeBase(directory, embedder.info)
    sources = [bundled_corpus_dir()]
    if not args.no_distractors and DISTRACTORS.is_dir():
        sources.append(DISTRACTORS)
    ingest(kb, embedder, sources)
    chunks = kb.store.chunk_count()

    vectors = embedder.encode_queries([item["query"] for item in items])
    ranks: dict[str, list[int | None]] = {}
    for mode in MODES:
        for expand in ((True, False) if mode == "hybrid" else (True,)):  # only BM25 is expanded
            name = mode if expand else f"{mode} (sin expansión)"
            ranks[name] = [
                first_relevant([(h.chunk.doc_id, h.chunk.text) for h in
                                search(kb, embedder, item["query"], k=10, mode=mode, query_vector=vector,
                                       expand=expand)], item)
                for item, vector in zip(items, vectors)
            ]
    if not args.no_baselines:
        units = paragraphs(kb.store)
        texts = [text for _, text in units]
        lexical = bm25_rankings(texts, [item["query"] for item in items])
        ranks["párrafos BM25"] = [first_relevant([units[i] for i in r], item) for r, item in zip(lexical, items)]
        matrix = embedder.encode_passages(texts)
        dense = np.argsort(-(vectors @ matrix.T), axis=1, kind="stable")[:, :10]
        ranks["párrafos modelo"] = [first_relevant([units[i] for i in r], item) for r, item in zip(dense, items)]

    styles = [s for s in STYLES if any(item.get("style") == s for item in items)]
    report = {
        "set": args.set.name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": len(kb.store.documents()),
        "chunks": chunks,
        "model": embedder.info.name,
        "model_fingerprint": embedder.info.fingerprint,
        "distractors": len(sources) > 1,
        "styles": {s: sum(item.get("style") == s for item in items) for s in styles},
        "modes": {},
        "misses": {},
    }
    voices = [v for v in VOICES if any(item.get("voice") == v for item in items)]
    report["voices"] = {v: sum(item.get("voice") == v for item in items) for v in voices}
    for name, found in ranks.items():
        report["modes"][name] = metrics(found)
        report["misses"][name] = [item["id"] for item, r in zip(items, found) if r != 1]
    for field, groups in (("style", styles), ("voice", voices)):
        header = "".join(f"{g[:12]:>13}" for g in groups)
        print(f"{'hit@1 por ' + ('estilo' if field == 'style' else 'voz'):<24}{header}")
        for name, found in ranks.items():
            row = ""
            for group in groups:
                m = metrics([r for item, r in zip(items, found) if item.get(field) == group])
                report["modes"][f"{name}/{group}"] = m
                row += f"{m['hit_at_1']:>13.3f}"
            print(f"{name:<24}{row}")
        print()
    for name in ranks:
        print(f"{name:<24} {format_metrics(report['modes'][name])}")
    counts = ", ".join(f"{s} {n}" for s, n in report["styles"].items())
    print(f"({len(items)} consultas: {counts}; {report['documents']} documentos, {chunks} fragmentos)")
    kb.close()
    out = args.out or HERE / "results" / f"retrieval-{args.set.stem}.json"
    print(f"Resultados en {write_report(out, report)}")


if __name__ == "__main__":
    main()
