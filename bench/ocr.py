"""OCR speed: pages per second of a scanned PDF, the way ingest reads it.

The scan is the first --pages pages of the Seers paper of ../shared/real-pdfs (a
junk OCR layer that ingest recognises again) or, where that folder is absent, of 8
pages of the bundled corpus drawn as images. Three ways, alternating, --runs times each:
- kb: `ingest.extract.extract`, one single-threaded Tesseract per core (its time
  includes reading the PDF and drawing the pages);
- serial: the same page images, one single-threaded Tesseract at a time;
- threads: one Tesseract at a time with its own OpenMP threads, which is what
  running Tesseract plainly does.

    python bench/ocr.py [--runs 3] [--pages 6]

Prints medians and their ratio; writes bench/results/ocr.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCAN = ROOT.parent / "shared" / "real-pdfs" / "en_seers_1963_limitations_special_case_SCAN.pdf"


def generated_scan(folder: Path) -> Path:
    """8 pages of the bundled corpus, each an image with no text layer."""
    import pymupdf

    from kb.config import bundled_corpus_dir

    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(bundled_corpus_dir().glob("*.txt")))
    words = text.split()
    doc = pymupdf.open()
    for n in range(8):
        drawn = pymupdf.open()
        drawn.new_page().insert_textbox(pymupdf.Rect(60, 60, 550, 780), " ".join(words[n * 400:(n + 1) * 400]),
                                        fontsize=11, fontname="tiro")
        page = doc.new_page()
        page.insert_image(page.rect, stream=drawn[0].get_pixmap(dpi=300, colorspace=pymupdf.csGRAY).tobytes("png"))
    path = folder / "escaneo.pdf"
    doc.save(path)
    return path


def kb_way(path: Path) -> int:
    from ingest.extract import extract

    return sum(page.ocr_confidence is not None for page in extract(path).pages)


def serial_way(images: list[bytes], langs: str, threads: bool) -> int:
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if not threads:
        env["OMP_THREAD_LIMIT"] = "1"
    for image in images:
        subprocess.run(["tesseract", "stdin", "stdout", "-l", langs, "tsv"], input=image,
                       capture_output=True, check=True, env=env)
    return len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=6)
    args = parser.parse_args()
    import pymupdf

    from ingest.extract import render_page
    from ingest.ocr import languages

    if shutil.which("tesseract") is None:
        raise SystemExit("Tesseract no está instalado: sudo apt install tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng")
    langs = languages()
    with tempfile.TemporaryDirectory() as tmp:
        source = SCAN if SCAN.exists() else generated_scan(Path(tmp))
        path = Path(tmp) / f"{source.stem}-{args.pages}.pdf"
        with pymupdf.open(source) as doc, pymupdf.open() as part:
            part.insert_pdf(doc, to_page=args.pages - 1)
            part.save(path)
            images = [render_page(page) for page in part]
        times: dict[str, list[float]] = {"kb": [], "serial": [], "threads": []}
        for _ in range(args.runs):
            for name in times:
                started = time.perf_counter()
                pages = kb_way(path) if name == "kb" else serial_way(images, langs, name == "threads")
                times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "document": source.name, "pages": pages, "cpus": os.cpu_count(), "load": os.getloadavg()[0],
        "runs": args.runs, "seconds": {k: [round(v, 2) for v in vs] for k, vs in times.items()},
        "pages_per_second": {k: round(pages / v, 2) for k, v in medians.items()},
        "serial_over_kb": round(medians["serial"] / medians["kb"], 2),
        "threads_over_kb": round(medians["threads"] / medians["kb"], 2),
    }
    print(f"{source.name}: {pages} páginas, {args.runs} vueltas, carga {result['load']:.1f}")
    for name, rate in result["pages_per_second"].items():
        print(f"  {name:7} {rate:5.2f} págs/s (mediana {medians[name]:.1f} s)")
    print(f"  tiempo serial / kb: {result['serial_over_kb']}×; hilos / kb: {result['threads_over_kb']}×")
    out = ROOT / "bench" / "results" / "ocr.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"→ {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
