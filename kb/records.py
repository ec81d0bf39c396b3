"""The records every layer passes around: pages, chunks, documents and their metadata.

Plain dataclasses with no behaviour beyond their fields, so that the store, the
ingest pipeline and the search code can share them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Page:
    """One page as extracted, before cleaning.

    `number` is the 1-based PDF page index, or the 1-based form-feed page of a
    text file; None for a text file without form feeds (no pages to cite).
    `label` is the printed page label when the PDF defines one.
    `ocr_confidence` is set when the text was recognised from the page's image
    (mean word confidence, 0-100); None for a text layer.
    """

    number: int | None
    text: str
    label: str | None = None
    ocr_confidence: float | None = None


@dataclass
class Extracted:
    path: Path
    kind: str  # "pdf", "txt" or "md"
    pages: list[Page]
    metadata: dict[str, str] = field(default_factory=dict)  # raw PDF metadata, may be empty
    title_guess: str | None = None  # the first page's largest-type line(s), for documents without a title
    notice: str | None = None  # why pages that needed OCR were not recognised (Tesseract missing)


@dataclass
class CleanPage:
    """A page after cleaning; `raw` is kept so any quote can be checked against the source.

    `status` is "ok", "empty" (no text layer, and none recognised), "junk" (text
    that is not prose: control characters, too few letters) or "ocr-low" (text
    recognised with a mean word confidence under the floor); only "ok" pages are
    chunked. `ocr_confidence` as in `Page`.
    """

    number: int | None
    label: str | None
    raw: str
    text: str
    status: str = "ok"
    ocr_confidence: float | None = None


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    ordinal: int
    chunk_id: str
    text: str
    page_start: int | None
    page_end: int | None
    start: int  # offset of the first character in page_start's clean text
    end: int  # offset after the last character in page_end's clean text
    paragraph_start: int  # 1-based paragraph locator within the document
    paragraph_end: int
    section: str | None
    kind: str = "body"  # one of PASSAGE_KINDS, set by ingest/kinds.py

    @property
    def words(self) -> int:
        return len(self.text.split())


# What a passage is, with the name users see. Only "body" is searched,
# answered from, compared and tagged unless a user asks for every kind.
PASSAGE_KINDS = {
    "body": "texto",
    "bibliography": "bibliografía",
    "toc": "índice de contenido",
    "index": "índice analítico",
    "front": "portada y créditos",
    "ocr-junk": "texto ilegible (OCR)",
}
SEARCHED_KINDS = ("body",)


@dataclass(frozen=True)
class DocumentMeta:
    title: str | None = None
    authors: tuple[str, ...] = field(default_factory=tuple)
    year: int | None = None
    venue: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    publisher: str | None = None
    issn: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Filters:
    """Restrict a search; every filter that is set must match."""

    doc_ids: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    authors: tuple[str, ...] = ()  # case-insensitive substring of an author name
    tags: tuple[str, ...] = ()  # concept ids; a passage must carry all of them

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.years or self.authors or self.tags)


@dataclass(frozen=True)
class DocumentRow:
    id: int
    doc_id: str
    path: str
    sha256: str
    kind: str
    meta: DocumentMeta
    report: str | None
    pages: int
    chunks: int


@dataclass(frozen=True)
class ChunkRow:
    id: int
    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    page_start: int | None
    page_end: int | None
    paragraph_start: int
    paragraph_end: int
    section: str | None
    start: int = 0  # offset of the first character in page_start's clean text
    end: int = 0  # offset after the last character in page_end's clean text
    kind: str = "body"
    ocr: bool = False  # some of its text was recognised from a page image

    @property
    def kind_label(self) -> str:
        return PASSAGE_KINDS[self.kind]
