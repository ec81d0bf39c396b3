"""The training corpus and its passages, rebuilt from the PDFs in ../shared/train-corpus.

A training row names its passage by the document's sha256 and the passage's span
(page and clean-text offset at each end), never by its text: several documents
forbid redistribution. The span is the one kb's own chunker gives the passage, so
training sees passages exactly as search will.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.records import Chunk

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "train-corpus"


def corpus_dir() -> Path:
    return Path(os.environ.get("KB_TRAIN_CORPUS", DEFAULT_CORPUS))


@dataclass(frozen=True)
class Document:
    filename: str
    sha256: str
    language: str
    pages: int
    license: str

    @property
    def path(self) -> Path:
        return corpus_dir() / self.filename


@dataclass(frozen=True)
class Span:
    page_start: int | None
    start: int
    page_end: int | None
    end: int

    @classmethod
    def of(cls, chunk: Chunk) -> Span:
        return cls(chunk.page_start, chunk.start, chunk.page_end, chunk.end)

    @classmethod
    def from_row(cls, row: dict) -> Span:
        return cls(row["page_start"], row["start"], row["page_end"], row["end"])

    def as_row(self) -> dict:
        return {"page_start": self.page_start, "start": self.start, "page_end": self.page_end, "end": self.end}


def documents() -> list[Document]:
    """The corpus as its MANIFEST.tsv lists it."""
    with open(corpus_dir() / "MANIFEST.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [Document(r["filename"], r["sha256"], r["language"], int(r["pages"]), r.get("license_if_stated", ""))
            for r in rows]


def by_sha() -> dict[str, Document]:
    return {d.sha256: d for d in documents()}


def passages(filename: str) -> tuple[Chunk, ...]:
    """The searchable (body) passages of one corpus document, as `kb ingest` makes them."""
    return _read(filename)[0]


def numbered(filename: str) -> dict[Span, int]:
    """Each passage's number (its place in `passages`) by its span."""
    return _read(filename)[1]


def passage_at(filename: str, span: Span) -> Chunk | None:
    n = numbered(filename).get(span)
    return None if n is None else passages(filename)[n]


def forget() -> None:
    """Drop the passages read so far (the corpus files changed)."""
    _read.cache_clear()


@lru_cache(maxsize=8)
def _read(filename: str) -> tuple[tuple[Chunk, ...], dict[Span, int]]:
    from ingest.clean import clean_pages
    from ingest.extract import extract
    from ingest.pipeline import passages as chunk

    path = corpus_dir() / filename
    # Text layers only: the rows' offsets were taken from them, and a Tesseract
    # release must not move a training passage.
    pieces = tuple(p for p in chunk(path.stem, clean_pages(extract(path, ocr=False).pages)) if p.kind == "body")
    return pieces, {Span.of(piece): n for n, piece in enumerate(pieces)}


_SPACE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """Whitespace-insensitive form in which an answer span is looked up in its passage."""
    return _SPACE.sub(" ", text).strip()


def holds(passage: str, answer: str) -> bool:
    return squeeze(answer) in squeeze(passage)
