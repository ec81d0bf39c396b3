"""Character error rate of kb's OCR on pages whose true text is known.

Two sets of pages, each rendered to an image and recognised as ingest does
(ingest.extract.render_page's PNG, ingest.ocr.recognise):
- bundled: paragraphs of the bundled corpus laid out on A4 pages (the text kb
  drew is the reference);
- real: single-column pages of ../shared/real-pdfs with a sound text layer (the
  layer is the reference), where present.
Each page is read at 300 and 150 dpi, clean and with added noise and skew (1.5°
rotation, Gaussian noise σ 20, 0.5 % salt and pepper; seeded). CER is the
Levenshtein distance over the reference's length, whitespace collapsed, summed over
the pages of a set. PyMuPDF's own OCR text page is measured beside it at 300 dpi,
clean (it gives no word confidences, which kb records).

    python eval/ocr.py [--pages N] [--no-pymupdf]

Targets (issue 17): CER ≤ 2 % at 300 dpi, ≤ 5 % at 150 dpi with noise.

With --questions, the dev questions of eval/ocr-questions.jsonl (on the real scans:
the Seers paper, the SENA sheet) are asked of an index of the bundled corpus and the
real PDFs (built in --index DIR if it is empty); a hit counts when it is the
question's document, its pages hold the question's page and it contains the answer.
BM25 (lexical) and the model alone (dense) are printed beside hybrid.

    python eval/ocr.py --questions [--index DIR]

Writes eval/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pymupdf
from PIL import Image
from rapidfuzz.distance import Levenshtein

HERE = Path(__file__).resolve().parent
REAL_PDFS = HERE.parent.parent / "shared" / "real-pdfs"
CONDITIONS = ((300, False), (300, True), (150, False), (150, True))
SEED = 17


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def bundled_pages(limit: int) -> list[tuple[str, pymupdf.Document]]:
    """A4 pages of about 300 words of the bundled corpus each, one document per page."""
    from kb.config import bundled_corpus_dir

    pages = []
    sources = sorted(bundled_corpus_dir().glob("*.txt"))
    per_source = max(1, -(-limit // len(sources)))
    for source in sources:
        paragraphs = [p for p in re.split(r"\n\s*\n", source.read_text(encoding="utf-8"))
                      if len(p.split()) >= 40 and "\f" not in p]
        for n in range(per_source):
            text = "\n\n".join(" ".join(p.split()) for p in paragraphs[n * 3:n * 3 + 3])
            if not text:
                break
            doc = pymupdf.open()
            page = doc.new_page(width=595, height=842)
            page.insert_textbox(pymupdf.Rect(60, 60, 535, 800), text, fontsize=11, fontname="tiro")
            pages.append((f"{source.stem} #{n + 1}", doc))
    return pages[:limit]


def real_pages(limit: int) -> list[tuple[str, pymupdf.Document]]:
    """Single-column pages with at least 150 words of prose in their text layer, two per PDF at most."""
    from ingest.clean import clean_pages
    from ingest.extract import _column_order, extract

    found: list[tuple[str, pymupdf.Document]] = []
    for path in sorted(REAL_PDFS.glob("*.pdf")):
        if path.name.startswith(("bad_", "odd_")) or "SCAN" in path.name:
            continue
        try:
            cleaned = clean_pages(extract(path, ocr=False).pages)
            source = pymupdf.open(path)
        except Exception:
            continue
        taken = 0
        for page, clean in zip(source, cleaned):
            blocks = sorted((b for b in page.get_text("blocks") if b[6] == 0), key=lambda b: (b[1], b[0]))
            if clean.status != "ok" or len(clean.text.split()) < 150 or _column_order(blocks, page.rect):
                continue
            single = pymupdf.open()
            single.insert_pdf(source, from_page=page.number, to_page=page.number)
            found.append((f"{path.stem} p. {page.number + 1}", single))
            taken += 1
            if taken == 2:
                break
    return found[:limit]


def degrade(png: bytes, rng: random.Random) -> bytes:
    """The scan a worn photocopier makes: skewed, grainy, speckled."""
    image = Image.open(io.BytesIO(png)).convert("L").rotate(1.5, expand=True, fillcolor=255,
                                                             resample=Image.Resampling.BICUBIC)
    pixels = np.asarray(image, dtype=np.float32)
    generator = np.random.default_rng(rng.randrange(2**32))
    pixels = pixels + generator.normal(0, 20, pixels.shape)
    speckle = generator.random(pixels.shape)
    pixels[speckle < 0.0025] = 0
    pixels[speckle > 0.9975] = 255
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def measure(pages: list[tuple[str, pymupdf.Document]], langs: str) -> dict:
    from ingest.extract import render_page
    from ingest.ocr import recognise

    rng = random.Random(SEED)
    jobs = []
    for name, doc in pages:
        reference = normalise(doc[0].get_text())
        for dpi, noisy in CONDITIONS:
            image = render_page(doc[0], dpi)
            jobs.append((name, dpi, noisy, reference, degrade(image, rng) if noisy else image))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = list(pool.map(lambda job: recognise(job[4], langs), jobs))
    elapsed = time.perf_counter() - started
    results: dict = {"pages": len(pages), "seconds": round(elapsed, 1),
                     "pages_per_second": round(len(jobs) / elapsed, 2), "conditions": {}, "worst": {}}
    for dpi, noisy in CONDITIONS:
        key = f"{dpi} dpi{' + ruido' if noisy else ''}"
        edits = chars = 0
        per_page = []
        for (name, d, n, reference, _), recognised in zip(jobs, found):
            if (d, n) != (dpi, noisy):
                continue
            distance = Levenshtein.distance(reference, normalise(recognised.text))
            edits, chars = edits + distance, chars + len(reference)
            per_page.append((distance / max(len(reference), 1), name, recognised.confidence))
        results["conditions"][key] = round(edits / max(chars, 1), 4)
        worst = max(per_page)
        results["worst"][key] = {"page": worst[1], "cer": round(worst[0], 4), "confidence": worst[2]}
    return results


def pymupdf_cer(pages: list[tuple[str, pymupdf.Document]], langs: str) -> dict:
    """PyMuPDF's OCR text page on the same pages, 300 dpi, clean."""
    from ingest.extract import render_page

    os.environ.setdefault("TESSDATA_PREFIX", "/usr/share/tesseract-ocr/5/tessdata")
    edits = chars = 0
    started = time.perf_counter()
    for _, doc in pages:
        reference = normalise(doc[0].get_text())
        scanned = pymupdf.open()
        page = scanned.new_page(width=doc[0].rect.width, height=doc[0].rect.height)
        page.insert_image(page.rect, stream=render_page(doc[0], 300))
        textpage = page.get_textpage_ocr(language=langs, dpi=300, full=True)
        edits += Levenshtein.distance(reference, normalise(textpage.extractText()))
        chars += len(reference)
    return {"cer": round(edits / max(chars, 1), 4),
            "pages_per_second": round(len(pages) / (time.perf_counter() - started), 2)}


def ask_questions(index: Path | None) -> dict:
    import tempfile

    from ingest.pipeline import ingest
    from kb.ask.search import MODES, search
    from kb.config import bundled_corpus_dir
    from kb.evaluation import contains_answer, load_set, metrics
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    items = load_set(HERE / "ocr-questions.jsonl")
    embedder = load_embedder()
    kb = KnowledgeBase(index or Path(tempfile.mkdtemp(prefix="kb-eval-ocr-")), embedder.info)
    ingest(kb, embedder, [bundled_corpus_dir(), REAL_PDFS])
    report: dict = {}
    for mode in MODES:
        ranks: list[int | None] = []
        for item in items:
            hits = search(kb, embedder, item["query"], k=10, mode=mode)
            ranks.append(next((hit.rank for hit in hits if hit.chunk.doc_id == item["doc_id"]
                               and (hit.chunk.page_start or 0) <= item["page"] <= (hit.chunk.page_end or 0)
                               and contains_answer(hit.chunk.text, item["answer"])), None))
        report[mode] = metrics(ranks) | {"ranks": dict(zip((i["id"] for i in items), ranks))}
        print(f"{mode:8} hit@1 {report[mode]['hit_at_1']:.3f} · R@5 {report[mode]['recall_at_5']:.3f} · "
              f"MRR@10 {report[mode]['mrr_at_10']:.3f}   {[r for r in ranks]}")
    kb.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=12, help="pages per set (default 12)")
    parser.add_argument("--no-pymupdf", action="store_true", help="skip PyMuPDF's OCR text page")
    parser.add_argument("--questions", action="store_true", help="ask eval/ocr-questions.jsonl instead")
    parser.add_argument("--index", type=Path, default=None, help="with --questions: reuse (or build) the index here")
    args = parser.parse_args()
    if args.questions:
        report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **ask_questions(args.index)}
        out = HERE / "results" / "ocr-questions.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"→ {out.relative_to(HERE.parent)}")
        return
    from ingest.ocr import installed_languages, languages

    if installed_languages() is None:
        raise SystemExit("Tesseract no está instalado: sudo apt install tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng")
    langs = languages()
    sets = {"bundled": bundled_pages(args.pages)}
    if REAL_PDFS.is_dir():
        sets["real"] = real_pages(args.pages)
    report: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "languages": langs,
                    "cpus": os.cpu_count(), "load": os.getloadavg()[0], "sets": {}}
    print(f"OCR ({langs}), CER sumado por conjunto; carga {report['load']:.1f}")
    print(f"{'conjunto':10} {'págs':>4} " + " ".join(f"{c:>15}" for c in (
        f"{d} dpi{' + ruido' if n else ''}" for d, n in CONDITIONS)) + "  págs/s")
    for name, pages in sets.items():
        result = measure(pages, langs)
        if not args.no_pymupdf:
            result["pymupdf_300dpi"] = pymupdf_cer(pages, langs)
        report["sets"][name] = result
        print(f"{name:10} {result['pages']:>4} " + " ".join(f"{v:>15.2%}" for v in result["conditions"].values())
              + f"  {result['pages_per_second']:>6}")
        for key, worst in result["worst"].items():
            print(f"    peor a {key}: {worst['page']} (CER {worst['cer']:.2%}, confianza {worst['confidence']})")
        if "pymupdf_300dpi" in result:
            print(f"    PyMuPDF get_textpage_ocr, 300 dpi: CER {result['pymupdf_300dpi']['cer']:.2%}, "
                  f"{result['pymupdf_300dpi']['pages_per_second']} págs/s (un proceso)")
    out = HERE / "results" / "ocr.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"→ {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
