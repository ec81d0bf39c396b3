"""The page records passed between extraction, cleaning and chunking."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Page:
    """One page as extracted, before cleaning.

    `number` is the 1-based PDF page index, or the 1-based form-feed page of a
    text file; None for a text file without form feeds (no pages to cite).
    `label` is the printed page label when the PDF defines one.
    """

    number: int | None
    text: str
    label: str | None = None


@dataclass
class Extracted:
    path: Path
    kind: str  # "pdf", "txt" or "md"
    pages: list[Page]
    metadata: dict[str, str] = field(default_factory=dict)  # raw PDF metadata, may be empty
    title_guess: str | None = None  # the first page's largest-type line(s), for documents without a title


@dataclass
class CleanPage:
    """A page after cleaning; `raw` is kept so any quote can be checked against the source.

    `status` is "ok", "empty" (no text layer) or "junk" (text that is not
    prose: control characters, too few letters); only "ok" pages are chunked.
    """

    number: int | None
    label: str | None
    raw: str
    text: str
    status: str = "ok"
