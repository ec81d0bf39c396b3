"""Turn a PDF, .txt or .md file into pages of raw text.

This is the only module that imports PyMuPDF, so its quirks stay here.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

from ingest.pages import Extracted, Page
from kb.errors import IngestError

# MuPDF prints repair notes ("trying to repair broken xref") to stderr;
# library code must not print, and the errors we care about are raised anyway.
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

TEXT_KINDS = {".txt": "txt", ".md": "md"}
PDF_SIGNATURE = b"%PDF-"
# Readers accept the signature anywhere in the first 1024 bytes (junk before it is common).
SIGNATURE_WINDOW = 1024
BOM = b"\xef\xbb\xbf"


def extract(path: str | Path) -> Extracted:
    """Read `path` into pages; raise IngestError with a one-line Spanish reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _extract_pdf(path)
    if suffix in TEXT_KINDS:
        return _extract_text(path, TEXT_KINDS[suffix])
    shown = suffix or "sin extensión"
    raise _error(path, f"extensión no admitida ({shown}); se admiten .pdf, .txt y .md")


def _error(path: Path, reason: str) -> IngestError:
    return IngestError(f"{path}: {_one_line(reason)}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        detail = "el archivo no existe"
    elif isinstance(exc, PermissionError):
        detail = "sin permiso de lectura"
    elif isinstance(exc, IsADirectoryError):
        detail = "es una carpeta, no un archivo"
    else:
        detail = exc.strerror or str(exc)
    return f"no se puede leer ({detail})"


# --- PDF ---------------------------------------------------------------------


def _extract_pdf(path: Path) -> Extracted:
    _check_pdf_signature(path)
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several types for unreadable files
        raise _error(path, f"PDF dañado o truncado ({exc})") from exc
    with doc:
        if doc.needs_pass:
            raise _error(path, "PDF protegido con contraseña; no se puede leer sin ella")
        if doc.page_count == 0:
            raise _error(path, "PDF dañado o truncado (no contiene ninguna página)")
        if doc.is_repaired and not _has_eof_marker(path):
            # MuPDF rebuilds a cut-off file and serves the surviving pages, the
            # rest come out blank; ingesting that would pass half a document off
            # as whole, and the blank pages as pages without a text layer.
            raise _error(path, "PDF dañado o truncado (el archivo está incompleto: falta su final)")
        pages = [_read_page(doc, index) for index in range(doc.page_count)]
        metadata = {key: value for key, value in (doc.metadata or {}).items()
                    if isinstance(value, str) and value.strip()}
        title = _title_guess(doc)
    return Extracted(path=path, kind="pdf", pages=pages, metadata=metadata, title_guess=title)


def _title_guess(doc: pymupdf.Document) -> str | None:
    """The largest-type text of the first page, when it stands out from the body
    and reads like a title (2 to 30 words); never an author or a year."""
    try:
        lines = [
            (max(span["size"] for span in line["spans"]), "".join(span["text"] for span in line["spans"]).strip())
            for block in doc.load_page(0).get_text("dict")["blocks"] if block.get("type") == 0
            for line in block["lines"] if line["spans"]
        ]
    except Exception:
        return None
    lines = [(size, text) for size, text in lines if text]
    if len(lines) < 2:
        return None
    body = sorted(size for size, _ in lines)[len(lines) // 2]
    largest = max(size for size, _ in lines)
    if largest < body * 1.3:
        return None
    title = " ".join(" ".join(text for size, text in lines if size >= largest - 0.5).split())
    return title if 2 <= len(title.split()) <= 30 else None


def _check_pdf_signature(path: Path) -> None:
    # Must run before PyMuPDF sees the file: it happily opens HTML (even with
    # filetype="pdf"), so a saved "Access Denied" page would be ingested.
    try:
        with path.open("rb") as file:
            head = file.read(SIGNATURE_WINDOW)
    except OSError as exc:
        raise _error(path, _os_reason(exc)) from exc
    if not head:
        raise _error(path, "archivo vacío")
    if PDF_SIGNATURE in head:
        return
    lowered = head.lower()
    if b"<html" in lowered or b"<!doctype html" in lowered:
        raise _error(path, "no es un PDF (parece una página HTML)")
    raise _error(path, "no es un PDF (no empieza con la cabecera %PDF-)")


def _has_eof_marker(path: Path) -> bool:
    # Searched anywhere, not only at the end: MuPDF also "repairs" complete
    # files that merely have junk appended, and those read fine.
    try:
        return b"%%EOF" in path.read_bytes()
    except OSError:
        return False


def _read_page(doc: pymupdf.Document, index: int) -> Page:
    # A page PyMuPDF cannot read keeps its place with empty text; cleaning
    # reports it as a page without a text layer instead of losing the document.
    try:
        page = doc.load_page(index)
    except Exception:
        return Page(number=index + 1, text="")
    try:
        text = _page_text(page)
    except Exception:
        text = ""
    try:
        label = page.get_label() or None
    except Exception:
        label = None
    return Page(number=index + 1, text=text, label=label)


def _page_text(page: pymupdf.Page) -> str:
    """The page's text in reading order, also for two-column layouts.

    get_text("text", sort=True) sorts *lines* by position and joins lines at
    the same height, so on two-column articles (Sharif 2006, Vázquez Maggio
    2017) every output line glues a left-column line to a right-column one.
    Blocks (paragraphs) stay whole, so where the page has two columns we take
    get_text("blocks") and order the blocks column by column.
    Elsewhere sort=True text is better: it rejoins lines that some producers
    (Ghostscript in the 178-page manual) split into several blocks.
    """
    textpage = page.get_textpage()  # parse the page once for both views
    text_blocks = [b for b in page.get_text("blocks", textpage=textpage) if b[6] == 0]
    # Sorted by top edge rather than sort=True's bottom edge: table cells are
    # top-aligned, so a row's cells then stay together and in order.
    blocks = sorted(text_blocks, key=lambda block: (block[1], block[0]))
    ordered = _column_order(blocks, page.rect)
    if ordered is None:
        return page.get_text("text", sort=True, textpage=textpage)
    return "".join(block[4] for block in ordered)


def _column_order(blocks: list[tuple], rect: pymupdf.Rect) -> list[tuple] | None:
    """Blocks top to bottom, but a left column before its right column.

    None when no part of the page is set in two columns.
    """
    ordered: list[tuple] = []
    found = False
    middle = (rect.x0 + rect.x1) / 2
    for section in _sections(blocks, rect):
        left = [block for block in section if (block[0] + block[2]) / 2 < middle]
        right = [block for block in section if (block[0] + block[2]) / 2 >= middle]
        if _side_by_side(left, right, rect):
            ordered += left + right
            found = True
        else:
            ordered += section
    return ordered if found else None


def _sections(blocks: list[tuple], rect: pymupdf.Rect) -> list[list[tuple]]:
    """Split top-to-bottom blocks at those crossing the page's middle.

    A title, full-width paragraph or figure caption ends the columns above
    it; that is how such pages are read.
    """
    middle = (rect.x0 + rect.x1) / 2
    slack = rect.width * 0.02  # columns may end a little past the middle
    sections: list[list[tuple]] = []
    current: list[tuple] = []
    for block in blocks:
        if block[0] < middle - slack and block[2] > middle + slack:
            if current:
                sections.append(current)
            sections.append([block])
            current = []
        else:
            current.append(block)
    if current:
        sections.append(current)
    return sections


def _side_by_side(left: list[tuple], right: list[tuple], rect: pymupdf.Rect) -> bool:
    """True for two real columns: apart by a gutter and a few lines tall.

    The gutter rules out one line split into touching blocks; the height
    rules out a running header with the page number on the right.
    """
    if not left or not right:
        return False
    gutter = min(block[0] for block in right) - max(block[2] for block in left)
    overlap = (min(max(block[3] for block in left), max(block[3] for block in right))
               - max(min(block[1] for block in left), min(block[1] for block in right)))
    return gutter >= rect.width * 0.01 and overlap >= rect.height * 0.05


# --- Text files --------------------------------------------------------------


def _extract_text(path: Path, kind: str) -> Extracted:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _error(path, _os_reason(exc)) from exc
    if not data:
        raise _error(path, "archivo vacío")
    skipped = len(BOM) if data.startswith(BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        # 0-based byte offset in the file, as a hex editor shows it.
        offset = skipped + exc.start
        raise _error(path, f"no está en UTF-8 (byte no válido en la posición {offset})") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\f" not in text:
        # No form feeds, no pages: inventing page numbers would make citations lie.
        return Extracted(path=path, kind=kind, pages=[Page(number=None, text=text)])
    parts = text.split("\f")
    if not parts[-1].strip():  # a final form feed ends the last page, it starts none
        parts.pop()
    pages = [Page(number=n, text=part) for n, part in enumerate(parts, start=1)]
    return Extracted(path=path, kind=kind, pages=pages)
