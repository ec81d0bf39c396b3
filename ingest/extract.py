"""Turn a PDF, .txt, .md, .docx, .odt, .epub or .html file into pages of raw text.

This is the only module that imports PyMuPDF, so its quirks stay here.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import NamedTuple

import pymupdf

from ingest.clean import clean_pages
from ingest.kinds import is_ocr_junk
from ingest.ocr import DPI as OCR_DPI
from ingest.ocr import OcrInterrupted, OcrUnavailable, Recognised, recognise
from ingest.ocr import languages as ocr_languages
from kb.errors import IngestError
from kb.records import CleanPage, Extracted, Page

# MuPDF prints repair notes ("trying to repair broken xref") to stderr;
# library code must not print, and the errors we care about are raised anyway.
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

TEXT_KINDS = {".txt": "txt", ".md": "md"}
PDF_SIGNATURE = b"%PDF-"
# Readers accept the signature anywhere in the first 1024 bytes (junk before it is common).
SIGNATURE_WINDOW = 1024
BOM = b"\xef\xbb\xbf"


def extract(path: str | Path, *, ocr: bool = True) -> Extracted:
    """Read `path` into pages; raise IngestError with a one-line Spanish reason.

    With `ocr`, a PDF's scanned and unreadable pages are recognised with Tesseract
    (ingest/ocr.py); where it is missing, `Extracted.notice` says so."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _extract_pdf(path, ocr)
    if suffix in TEXT_KINDS:
        return _extract_text(path, TEXT_KINDS[suffix])
    # Imported here: ingest.formats reuses this module's error helpers.
    from ingest.formats import SUFFIXES, extract_document

    if suffix in SUFFIXES:
        return extract_document(path, SUFFIXES[suffix])
    shown = suffix or "sin extensión"
    raise _error(path, f"extensión no admitida ({shown}); se admiten .pdf, .txt, .md, .docx, .odt, .epub, "
                       ".html y .htm")


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


def open_pdf(path: Path, verb: str = "leer") -> pymupdf.Document:
    """The PDF, opened only after it proved to be one; a one-line error naming the file otherwise."""
    check_pdf_signature(path)
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several types for unreadable files
        raise _error(path, f"PDF dañado o truncado ({exc})") from exc
    if doc.needs_pass:
        doc.close()
        raise _error(path, f"PDF protegido con contraseña; no se puede {verb} sin ella")
    return doc


def _extract_pdf(path: Path, ocr: bool = True) -> Extracted:
    doc = open_pdf(path)
    with doc:
        try:
            # A file cut right after its page tree opens, then fails here:
            # "code=7: Invalid number of pages".
            page_count = doc.page_count
        except Exception as exc:
            raise _error(path, f"PDF dañado o truncado ({exc})") from exc
        if page_count == 0:
            raise _error(path, "PDF dañado o truncado (no contiene ninguna página)")
        if doc.is_repaired and not _has_eof_marker(path):
            # MuPDF rebuilds a cut-off file and serves the surviving pages, the
            # rest come out blank; ingesting that would pass half a document off
            # as whole, and the blank pages as pages without a text layer.
            raise _error(path, "PDF dañado o truncado (el archivo está incompleto: falta su final)")
        pages = [_read_page(doc, index) for index in range(page_count)]
        notice = None
        # Cleaning's own verdict on each page, as ingest will give it.
        cleaned = clean_pages(pages) if ocr else []
        wanted = [index for index, page in enumerate(cleaned) if _needs_ocr(doc, index, page)]
        if wanted:
            try:
                langs = ocr_languages()
            except OcrUnavailable as exc:
                notice = str(exc)
            else:
                pages = _recognise_pages(path, doc, pages, wanted, langs)
        metadata = _metadata(doc)
        # A recognised first page has no type sizes to find a title by.
        title = None if pages[0].ocr_confidence is not None else _title_guess(doc)
    return Extracted(path=path, kind="pdf", pages=pages, metadata=metadata, title_guess=title, notice=notice)


# --- OCR ---------------------------------------------------------------------


def _needs_ocr(doc: pymupdf.Document, index: int, cleaned: CleanPage) -> bool:
    """True for a page whose text must come from its image: no text layer (a
    scan; glyphs drawn as outlines; a blank page, which Tesseract clears in under
    a second), a text layer that is not prose (fonts without a Unicode map), or
    an invisible OCR layer that reads as junk (the Seers scan's:
    "tor^ectontheus^ubi^ofhisfHibject")."""
    if cleaned.status in ("empty", "junk"):
        return True
    try:
        return _is_invisible_ocr_layer(doc.load_page(index)) and is_ocr_junk(cleaned.text)
    except Exception:  # a page MuPDF cannot read keeps what it has
        return False


# A very large page (a poster, the 1400x885 pt SENA sheet) is rendered at less
# than DPI so that its image stays under this many pixels.
MAX_OCR_PIXELS = 40_000_000


def render_page(page: pymupdf.Page, dpi: int = OCR_DPI) -> bytes:
    """The page as a greyscale PNG, for OCR."""
    pixels_at_1 = page.rect.width * page.rect.height / 72 / 72
    dpi = min(dpi, int((MAX_OCR_PIXELS / max(pixels_at_1, 1)) ** 0.5))
    return page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY).tobytes("png")


def _recognise_pages(path: Path, doc: pymupdf.Document, pages: list[Page], wanted: list[int],
                     langs: str) -> list[Page]:
    """`pages` with those at `wanted` replaced by the text recognised in their image.

    Pages are drawn here, one at a time (MuPDF is not thread-safe), and recognised
    in one Tesseract process per core; a few drawn pages wait ahead, no more."""
    pages = list(pages)
    workers = max(os.cpu_count() or 1, 1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kb-ocr")
    pending: dict[int, Future[Recognised]] = {}
    try:
        for index in wanted:
            try:
                image = render_page(doc.load_page(index))
            except Exception:
                continue  # the page keeps what its text layer had, and is reported as such
            pending[index] = pool.submit(recognise, image, langs)
            in_flight = [f for f in pending.values() if not f.done()]
            if len(in_flight) >= 2 * workers:
                wait(in_flight, return_when=FIRST_COMPLETED)
        for index, future in pending.items():
            found = future.result()
            page = pages[index]
            pages[index] = Page(number=page.number, text=found.text, label=page.label,
                                ocr_confidence=found.confidence)
    except OcrInterrupted as exc:
        raise _error(path, str(exc)) from exc
    finally:
        # An interrupted ingest must not wait for the pages still queued.
        pool.shutdown(wait=True, cancel_futures=True)
    return pages


def _metadata(doc: pymupdf.Document) -> dict[str, str]:
    # Metadata is a nicety: a damaged Info dictionary must not cost the text.
    try:
        items = (doc.metadata or {}).items()
    except Exception:
        return {}
    return {key: value for key, value in items if isinstance(value, str) and value.strip()}


def _title_guess(doc: pymupdf.Document) -> str | None:
    """The largest-type text of the first page, when it stands out from the body
    and reads like a title (2 to 30 words); never an author or a year.

    The title is the first run of largest-type rows from the top, continued by
    the rows right below it in the same type; it stops at a change of font,
    a wide gap or a switch of language (the English translation many Latin
    American journals print under the Spanish title).
    """
    try:
        page = doc.load_page(0)
        if _is_invisible_ocr_layer(page):
            # OCR of a scan: the biggest text is a masthead and the words are
            # garbled, so any guess would be a wrong title in every citation.
            return None
        spans = _title_spans(page)
    except Exception:
        return None
    rows = _rows(spans)
    if len(rows) < 2:
        return None
    body = _body_size(spans)
    largest = max(_row_size(row) for row in rows)
    if largest < body * 1.3:
        return None
    lines = _title_lines(rows, body, largest)
    words = " ".join(lines).split()
    try:
        # Other pages are read only when a word might be a broken-off piece.
        vocabulary = _vocabulary(doc) if any(_FRAGMENT.match(word) for word in words[1:]) else set()
    except Exception:
        vocabulary = set()
    title = " ".join(_join_broken_words(words, vocabulary))
    return title if 2 <= len(title.split()) <= 30 else None


def _title_lines(rows: list[list[_Span]], body: float, largest: float) -> list[str]:
    """The text of the title's rows: the first row holding the largest type,
    then the rows below it for as long as they continue it."""
    start = next(i for i, row in enumerate(rows) if _row_size(row) >= largest - 0.5)
    above_body = [s for s in rows[start] if s.size > body * 1.05] or rows[start]
    # Smaller type on the title's rows (a page number, body text beside it) is not title.
    floor = max(_dominant_size(above_body) - 0.5, body * 1.05)
    font = _dominant_font([s for s in rows[start] if s.size >= floor])
    lines = [_row_text([s for s in rows[start] if s.size >= floor])]
    language = _language(lines[0])
    previous = rows[start]
    for row in rows[start + 1:]:
        big = [s for s in row if s.size >= floor]
        if not _continues_title(previous, row, big, font, largest):
            break
        text = _row_text(big)
        row_language = _language(text)
        if language and row_language and row_language != language:
            break
        language = language or row_language
        lines.append(text)
        previous = row
    return lines


class _Span(NamedTuple):
    text: str
    size: float
    font: str
    x0: float
    y0: float
    x1: float
    y1: float
    chars: tuple[tuple[str, float, float], ...]  # each character with its left and right edge


def _is_invisible_ocr_layer(page: pymupdf.Page) -> bool:
    """True when most of the page's characters are drawn invisibly (render mode 3):
    the text layer an OCR program lays over a scanned image."""
    counts = {"invisible": 0, "all": 0}
    for span in page.get_texttrace():
        counts["all"] += len(span["chars"])
        if span["type"] == 3:
            counts["invisible"] += len(span["chars"])
    return counts["all"] > 0 and counts["invisible"] > counts["all"] / 2


def _title_spans(page: pymupdf.Page) -> list[_Span]:
    """The page's horizontal, visible-size spans with text; superscripts
    (footnote marks such as the "1" after a title) are left out."""
    spans = []
    for block in page.get_text("rawdict")["blocks"]:
        if block.get("type") != 0:
            continue
        for line in block["lines"]:
            if abs(line["dir"][1]) > 0.01 or line["dir"][0] <= 0:  # rotated margin notes
                continue
            for span in line["spans"]:
                chars = tuple((char["c"], char["bbox"][0], char["bbox"][2]) for char in span["chars"])
                text = "".join(char for char, _, _ in chars)
                if not text.strip() or span["flags"] & pymupdf.TEXT_FONT_SUPERSCRIPT:
                    continue
                x0, y0, x1, y1 = span["bbox"]
                spans.append(_Span(text, span["size"], span["font"], x0, y0, x1, y1, chars))
    return spans


def _rows(spans: list[_Span]) -> list[list[_Span]]:
    """Spans grouped into visual rows, top to bottom, each row left to right.

    PyMuPDF's lines are not enough: producers split a row into several lines
    or blocks (one per word in justified text, one per letter size in fake
    small caps) and list them in drawing order, not reading order.
    """
    rows: list[list[_Span]] = []
    for span in sorted(spans, key=lambda s: ((s.y0 + s.y1) / 2, s.x0)):
        middle = (span.y0 + span.y1) / 2
        if rows and min(s.y0 for s in rows[-1]) <= middle <= max(s.y1 for s in rows[-1]):
            rows[-1].append(span)
        else:
            rows.append([span])
    return [sorted(row, key=lambda s: s.x0) for row in rows]


def _row_size(row: list[_Span]) -> float:
    return max(span.size for span in row)


def _body_size(spans: list[_Span]) -> float:
    """The size most of the page's characters are set in."""
    sizes = sorted((span.size, len(span.text.strip())) for span in spans)
    half, seen = sum(count for _, count in sizes) / 2, 0
    for size, count in sizes:
        seen += count
        if seen >= half:
            return size
    return sizes[-1][0]


def _dominant_size(spans: list[_Span]) -> float:
    # Fake small caps set capitals a size above the other letters; the row's
    # real size is the one most of its letters have.
    chars: dict[float, int] = {}
    for span in spans:
        chars[span.size] = chars.get(span.size, 0) + len(span.text.strip())
    return max(chars, key=lambda size: chars[size])


def _dominant_font(spans: list[_Span]) -> str:
    chars: dict[str, int] = {}
    for span in spans:
        chars[span.font] = chars.get(span.font, 0) + len(span.text.strip())
    return max(chars, key=lambda font: chars[font]) if chars else ""


def _continues_title(previous: list[_Span], row: list[_Span], big: list[_Span], font: str,
                     largest: float) -> bool:
    """True when `row` reads as the next line of the title: close below it,
    mostly in the title's type and font."""
    gap = min(s.y0 for s in row) - max(s.y1 for s in previous)
    title_chars = sum(len(s.text.strip()) for s in big)
    all_chars = sum(len(s.text.strip()) for s in row)
    return (gap <= largest * 1.5 and title_chars * 2 > all_chars
            and _dominant_font(big) == font)


def _row_text(spans: list[_Span]) -> str:
    """The row's spans joined, with a space only where the page shows a gap:
    pieces of one word drawn as separate spans must stay one word.

    A character centred on ground already covered is dropped: a title cut
    into clipped pieces (the 178-page manual's cover) draws the letters at
    each cut twice, "Desarr" + "rollo" overlapping on the second "r".
    """
    text = ""
    reach: float | None = None  # right edge of the last letter kept so far
    for span in spans:
        for position, (char, x0, x1) in enumerate(span.chars):
            if reach is not None and (x0 + x1) / 2 < reach:
                continue
            if char.isspace():
                text += char
                continue
            # A gap between spans is a word space even where the PDF draws none.
            if position == 0 and reach is not None and x0 - reach > span.size * 0.15:
                text += " "
            text += char
            reach = x1
    return " ".join(text.split())


# Function words that tell a Spanish title row from its English translation;
# words both languages share ("a", "no") are left out.
_SPANISH_WORDS = frozenset(
    "el la los las de del y en para por sobre su sus una un con como al entre hacia desde".split())
_ENGLISH_WORDS = frozenset("the of and on in for to its with from an towards between".split())


def _language(text: str) -> str | None:
    """"es" or "en" when the row has at least two function words of one
    language and more than of the other; None when it does not say."""
    words = [word.strip(".,:;¿?¡!()'\"«»“”").lower() for word in text.split()]
    spanish = sum(word in _SPANISH_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if spanish >= 2 and spanish > english:
        return "es"
    if english >= 2 and english > spanish:
        return "en"
    return None


def _vocabulary(doc: pymupdf.Document, pages: int = 3) -> set[str]:
    """Lower-case words of the first pages, the evidence that a rejoined word exists."""
    words: set[str] = set()
    for index in range(min(pages, doc.page_count)):
        words.update(re.findall(r"[^\W\d_]+", doc.load_page(index).get_text().lower()))
    return words


# A word of one or two letters, maybe followed by punctuation ("o:"), and a
# word ending in three or more letters it could have been broken off from.
_FRAGMENT = re.compile(r"^([^\W\d_]{1,2})(?![\w])")
_LAST_WORD = re.compile(r"([^\W\d_]{3,})$")


def _join_broken_words(words: list[str], vocabulary: set[str]) -> list[str]:
    """`words` with a word broken off its end put back ("Neoestructuralism o:"
    → "Neoestructuralismo:"); only when the whole word appears in the
    document, since "o", "y" or "la" alone are Spanish words too."""
    joined: list[str] = []
    for word in words:
        fragment = _FRAGMENT.match(word)
        last = _LAST_WORD.search(joined[-1]) if joined else None
        if fragment and last and (last.group(1) + fragment.group(1)).lower() in vocabulary:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def check_pdf_signature(path: Path) -> None:
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
