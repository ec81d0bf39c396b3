"""Recognise the text of a page image with Tesseract.

Tesseract runs as a program (the Debian packages tesseract-ocr, tesseract-ocr-spa,
tesseract-ocr-eng), one process per page, so pages of a scan are recognised on
every core at once while the ingest's reader thread waits on them, never holding
the write lock. Its TSV output is read rather than its plain text: it carries each
word's confidence, and its blocks and paragraphs become the page's paragraphs.
"""

from __future__ import annotations

import csv
import functools
import io
import shutil
import subprocess
from dataclasses import dataclass

from kb.config import child_environment, ocr_languages_setting

DEFAULT_LANGUAGES = "spa+eng"
INSTALL_COMMAND = "sudo apt install tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng"
# 300 dpi is Tesseract's own recommendation for body text; eval/ocr.py measures 150 too.
DPI = 300
# A page whose words average under this confidence (0-100) is reported, not indexed.
# Measured here: the Seers scan's pages score 93-96, the worst-read pages of eval/ocr.py 89-97
# (150 dpi with noise included); dot-leader contents pages of the 178-page manual,
# recognised as "ccoococnocnoon…", 35-53.
CONFIDENCE_FLOOR = 60.0
PAGE_TIMEOUT_S = 180  # a page Tesseract cannot finish in this time counts as unreadable


@dataclass(frozen=True)
class Recognised:
    text: str  # lines joined by "\n", paragraphs by a blank line
    confidence: float  # mean word confidence, 0-100 (0 when no word was found)
    words: int


class OcrUnavailable(Exception):
    """Tesseract, or every language asked for, is missing; the message is one Spanish line."""


class OcrInterrupted(Exception):
    """Tesseract was stopped by a signal (Ctrl-C reaches it too): the ingest is ending."""


@functools.cache
def installed_languages() -> frozenset[str] | None:
    """The languages Tesseract has data for; None when Tesseract is not installed."""
    program = shutil.which("tesseract")
    if program is None:
        return None
    try:
        listed = subprocess.run([program, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (listed.stdout + listed.stderr).splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and " " not in line.strip())


def languages(explicit: str | None = None) -> str:
    """The languages to recognise ("spa+eng"), those installed among the ones asked for."""
    asked = (explicit or ocr_languages_setting() or DEFAULT_LANGUAGES).replace(",", "+")
    installed = installed_languages()
    if installed is None:
        raise OcrUnavailable(f"Tesseract no está instalado; para leer páginas escaneadas instálelo con: {INSTALL_COMMAND}")
    usable = [lang for lang in asked.split("+") if lang and lang in installed]
    if not usable:
        raise OcrUnavailable(f"Tesseract no tiene datos para los idiomas {asked}; instálelos con: {INSTALL_COMMAND}")
    return "+".join(usable)


def recognise(image: bytes, langs: str) -> Recognised:
    """The text of one page image (PNG bytes) in the languages `langs`."""
    program = shutil.which("tesseract")
    if program is None:
        raise OcrUnavailable(f"Tesseract no está instalado; instálelo con: {INSTALL_COMMAND}")
    # One thread per process: pages run side by side, which beats Tesseract's
    # own threads on a page (measured in bench/ocr.py).
    env = child_environment(OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run([program, "stdin", "stdout", "-l", langs, "tsv"], input=image,
                              capture_output=True, env=env, timeout=PAGE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Recognised("", 0.0, 0)
    if done.returncode < 0:
        raise OcrInterrupted("el reconocimiento OCR se interrumpió")
    if done.returncode != 0:  # an image Tesseract cannot read: the page has no recognised text
        return Recognised("", 0.0, 0)
    return from_tsv(done.stdout.decode("utf-8", errors="replace"))


def from_tsv(tsv: str) -> Recognised:
    """Text and mean word confidence from Tesseract's TSV output."""
    rows = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    paragraphs: dict[tuple[str, str], dict[str, list[str]]] = {}
    confidences: list[float] = []
    for row in rows:
        word = (row.get("text") or "").strip()
        if row.get("level") != "5" or not word:
            continue
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            confidence = -1
        if confidence >= 0:
            confidences.append(confidence)
        paragraph = paragraphs.setdefault((row["block_num"], row["par_num"]), {})
        paragraph.setdefault(row["line_num"], []).append(word)
    # A paragraph without two letters or digits together is a speck or a stamp read as
    # "A" or "*" (the Seers scan's first page ends in one): alone, it would become a
    # passage of its own, nearest to every nonsense query.
    kept = [lines for lines in paragraphs.values()
            if any(sum(ch.isalnum() for ch in word) >= 2 for words in lines.values() for word in words)]
    text = "\n\n".join("\n".join(" ".join(words) for words in lines.values()) for lines in kept)
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return Recognised(text, round(mean, 1), len(confidences))
