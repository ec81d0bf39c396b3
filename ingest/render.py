"""A PDF page as a PNG image, with a quoted passage highlighted on it.

This is the second module that imports PyMuPDF, and it only renders: all text
extraction stays in ingest/extract.py. Nothing is written back to the PDF; the
highlight annotations live in memory for the one rendering.

A quote comes from the page's clean text, which differs from the PDF's text
layer in line breaks, hyphenation and ligatures. PyMuPDF's search already
crosses lines, drops end-of-line hyphens and (without PRESERVE_LIGATURES)
expands ligatures, but it matches a whole string or nothing, so a long quote is
looked for as runs of a few words and the rectangles of the runs found are
highlighted together.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

from ingest.extract import open_pdf
from kb.errors import IngestError, KBError

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

RUN_WORDS = 7  # long enough to be unique on a page, short enough to survive a cleaned word
MIN_RUN_WORDS = 3  # a failed run is retried as halves no shorter than this
FOUND_SHARE = 0.6  # share of the quote's words that must be found to call it found
HIGHLIGHT = (1.0, 0.92, 0.0)  # yellow
OPACITY = 0.4
_SEARCH_FLAGS = pymupdf.TEXT_DEHYPHENATE | pymupdf.TEXT_MEDIABOX_CLIP


class RenderError(KBError):
    """A page cannot be rendered; the message names the file and the reason."""


def render_page(path: str | Path, page_number: int, quote: str | None = None, *,
                zoom: float = 1.5) -> tuple[bytes, bool]:
    """PNG bytes of page `page_number` (1-based) of the PDF at `path`, with
    `quote` highlighted when given, and whether the quote was found on the page
    (False when no quote is given)."""
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, got {zoom}")
    path = Path(path)
    try:
        doc = open_pdf(path, verb="mostrar")
    except IngestError as error:
        raise RenderError(str(error)) from error
    with doc:
        if not 1 <= page_number <= doc.page_count:
            raise _error(path, f"la página {page_number} no existe (el PDF tiene {doc.page_count} "
                               f"página{'s' if doc.page_count != 1 else ''})")
        try:
            page = doc.load_page(page_number - 1)
            found = False
            if quote and quote.strip():
                rects, found = locate_quote(page, quote)
                if rects:
                    annot = page.add_highlight_annot(quads=rects)
                    annot.set_colors(stroke=HIGHLIGHT)
                    annot.set_opacity(OPACITY)
                    annot.update()
            pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), annots=True)
            return pixmap.tobytes("png"), found
        except Exception as exc:
            raise _error(path, f"no se pudo dibujar la página {page_number} ({exc})") from exc


def locate_quote(page: pymupdf.Page, quote: str) -> tuple[list[pymupdf.Rect], bool]:
    """Rectangles of `quote` on `page`, and whether enough of it was found to
    say the quote is there (a few common words found alone do not count)."""
    words = _words(quote)
    if not words:
        return [], False
    textpage = page.get_textpage(flags=_SEARCH_FLAGS)
    rects: list[pymupdf.Rect] = []
    matched = 0
    for run in _runs(words, RUN_WORDS):
        found = _search_run(page, textpage, run)
        if found:
            rects += found
            matched += len(run)
    return _unique(rects), matched >= FOUND_SHARE * len(words)


def _search_run(page: pymupdf.Page, textpage, run: list[str]) -> list[pymupdf.Rect]:
    """The run's rectangles; when the whole run is not on the page, those of its
    halves (a word the cleaner repaired breaks only the half holding it)."""
    for needle in dict.fromkeys((" ".join(run), " ".join(_join_hyphenated(run)))):
        rects = page.search_for(needle, textpage=textpage)
        if rects:
            return rects
    if len(run) < 2 * MIN_RUN_WORDS:
        return []
    half = len(run) // 2
    return _search_run(page, textpage, run[:half]) + _search_run(page, textpage, run[half:])


def _words(quote: str) -> list[str]:
    # A soft hyphen is invisible on the page and absent from its text layer.
    words = quote.replace("\u00ad", "").split()
    if words and len(words[-1]) > 1 and words[-1].endswith("-"):
        # A word cut at the end of a page or column: the page's search drops that hyphen.
        words[-1] = words[-1][:-1]
    return words


def _runs(words: list[str], size: int) -> list[list[str]]:
    """Consecutive runs of `size` words; a short tail joins the run before it."""
    runs = [words[i:i + size] for i in range(0, len(words), size)]
    if len(runs) > 1 and len(runs[-1]) < MIN_RUN_WORDS:
        tail = runs.pop()
        runs[-1] += tail
    return runs


def _join_hyphenated(words: list[str]) -> list[str]:
    """"institucio- nal" -> "institucional": a quote that kept a line-end hyphen."""
    out: list[str] = []
    for word in words:
        if out and out[-1].endswith("-") and len(out[-1]) > 1 and word[:1].islower():
            out[-1] = out[-1][:-1] + word
        else:
            out.append(word)
    return out


def _unique(rects: list[pymupdf.Rect]) -> list[pymupdf.Rect]:
    seen, out = set(), []
    for rect in rects:
        key = tuple(round(v, 1) for v in (rect.x0, rect.y0, rect.x1, rect.y1))
        if key not in seen:
            seen.add(key)
            out.append(rect)
    return out


def _error(path: Path, reason: str) -> RenderError:
    return RenderError(" ".join(f"{path}: {reason}".split()))
