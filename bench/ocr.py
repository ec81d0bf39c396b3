"""OCR speed: pages per second of a scanned PDF, the way ingest reads it.

The scan is the Seers paper of ../shared/real-pdfs (23 pages, a junk OCR layer
that ingest recognises again) or, where that folder is absent, 8 pages of the
bundled corpus drawn as images. Two ways, alternating, --runs times each:
- kb: `ingest.extract.extract`, one single-threaded Tesseract per core;
- serial: the same page images, one Tesseract at a time with its own threads
  (OpenMP on every core), which is what running Tesseract plainly does.

    python bench/ocr.py [--runs 3]

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


def serial_way(images: list[bytes], langs: str) -> int:
    for image in images:
        subprocess.run(["tesseract", "stdin", "stdout", "-l", langs, "tsv"], input=image,
                       capture_output=True, check=True)
    return len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import pymupdf

    from ingest.extract import render_page
    from ingest.ocr import languages

    if shutil.which("tesseract") is None:
        raise SystemExit("Tesseract no está instalado: sudo apt install tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng")
    langs = languages()
    with tempfile.TemporaryDirectory() as tmp:
        path = SCAN if SCAN.exists() else generated_scan(Path(tmp))
        with pymupdf.open(path) as doc:
            images = [render_page(page) for page in doc]
        times: dict[str, list[float]] = {"kb": [], "serial": []}
        for _ in range(args.runs):
            for name in times:
                started = time.perf_counter()
                pages = kb_way(path) if name == "kb" else serial_way(images, langs)
                times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "document": path.name, "pages": pages, "cpus": os.cpu_count(), "load": os.getloadavg()[0],
        "runs": args.runs, "seconds": {k: [round(v, 2) for v in vs] for k, vs in times.items()},
        "pages_per_second": {k: round(pages / v, 2) for k, v in medians.items()},
        "serial_over_kb": round(medians["serial"] / medians["kb"], 2),
    }
    print(f"{path.name}: {pages} páginas, {args.runs} vueltas, carga {result['load']:.1f}")
    for name, rate in result["pages_per_second"].items():
        print(f"  {name:7} {rate:5.2f} págs/s (mediana {medians[name]:.1f} s)")
    print(f"  serial / kb: {result['serial_over_kb']}×")
    out = ROOT / "bench" / "results" / "ocr.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"→ {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
