"""Turn a Word (.docx), OpenDocument text (.odt), EPUB or HTML file into one page of paragraphs.

Standard library only: the text of these formats is plain XML or HTML, and all
that is needed is paragraphs, which of them are headings, and the title and
author properties.

None of these formats has pages, so a document is one `Page(number=None)`:
citations then point to paragraphs ("párr. 12"), never to invented pages.

These files come from anywhere: a zip member is read only up to a byte budget
(a small archive can inflate to gigabytes), and ElementTree never fetches
external entities.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, NamedTuple
from urllib.parse import unquote

from ingest.extract import _error, _os_reason
from kb.errors import IngestError
from kb.records import Extracted, Page

SUFFIXES = {".docx": "docx", ".odt": "odt", ".epub": "epub", ".html": "html", ".htm": "html"}
# The name a reader knows the format by, for error messages.
LABELS = {"docx": "documento Word", "odt": "documento OpenDocument", "epub": "EPUB", "html": "HTML"}

# Uncompressed bytes read from one archive, all members together: far above the
# text of any real book, far below what a zip bomb would make us hold in memory.
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MEGABYTE = 1024 * 1024

# Two blank lines between paragraphs: ingest.clean takes a text whose every gap
# is a single blank line for double-spaced PDF output and would join the
# paragraphs; with two, each paragraph stays one (and one paragraph locator).
PARAGRAPH_BREAK = "\n\n\n"
CELL_SEPARATOR = " · "
ROW_SEPARATOR = " / "
BULLET = "• "
# A list item that already starts with one of these needs no bullet of ours.
_BULLET_CHARS = "•▪●◦■□➢►‣∙·–—-*"


class _Block(NamedTuple):
    """One paragraph in reading order; `role` is "body", "heading", "title" or "list"."""

    text: str
    role: str = "body"


class _Document(NamedTuple):
    blocks: list[_Block]
    metadata: dict[str, str]
    title_guess: str | None = None


def extract_document(path: Path, kind: str) -> Extracted:
    """Read a .docx, .odt, .epub or .html file; `kind` is a value of SUFFIXES."""
    readers = {"docx": _read_docx, "odt": _read_odt, "epub": _read_epub, "html": _read_html}
    try:
        document = readers[kind](path)
    except RecursionError as exc:  # elements nested thousands deep: built to break readers
        raise _error(path, f"{LABELS[kind]} dañado (elementos anidados sin fin)") from exc
    text = PARAGRAPH_BREAK.join(_paragraph(block) for block in document.blocks)
    if not text:
        raise _error(path, "el documento no contiene texto")
    return Extracted(path=path, kind=kind, pages=[Page(number=None, text=text)],
                     metadata=document.metadata, title_guess=document.title_guess)


def _paragraph(block: _Block) -> str:
    # The bullet keeps a short item ("Confianza") from passing for a heading downstream.
    if block.role == "list" and not block.text.startswith(tuple(_BULLET_CHARS)):
        return BULLET + block.text
    return block.text


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _blocks_text(blocks: list[_Block]) -> str:
    return " ".join(block.text for block in blocks)


def _first_title(blocks: list[_Block]) -> str | None:
    return next((block.text for block in blocks if block.role == "title"), None)


def _properties(title: str | None, author: str | None) -> dict[str, str]:
    """The keys ingest.pipeline reads from a PDF's metadata, for the same checks."""
    found = {"title": _collapse(title or ""), "author": _collapse(author or "")}
    return {key: value for key, value in found.items() if value}


# --- Zip archives --------------------------------------------------------------


class _Archive:
    """A zip file whose members are read within one byte budget; every failure
    is an IngestError naming the file."""

    def __init__(self, path: Path, kind: str, archive: zipfile.ZipFile) -> None:
        self.path, self.kind, self.zip = path, kind, archive
        self.budget = MAX_UNCOMPRESSED

    def damaged(self, reason: str) -> IngestError:
        return _error(self.path, f"{LABELS[self.kind]} dañado ({reason})")

    def has(self, name: str) -> bool:
        try:
            self.zip.getinfo(name)
        except KeyError:
            return False
        return True

    def read(self, name: str) -> bytes:
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise self.damaged(f"falta {name}") from None
        if info.file_size > self.budget:
            raise self._too_big(name)
        try:
            with self.zip.open(info) as member:
                data = member.read(self.budget + 1)  # the declared size may lie
        except RuntimeError as exc:  # zipfile's way of saying "encrypted"
            raise _error(self.path, f"{LABELS[self.kind]} protegido con contraseña") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise self.damaged(f"no se puede descomprimir {name}: {exc}") from exc
        if len(data) > self.budget:
            raise self._too_big(name)
        self.budget -= len(data)
        return data

    def xml(self, name: str) -> ET.Element:
        return _parse_xml(self.read(name), name, self.damaged)

    def _too_big(self, name: str) -> IngestError:
        return _error(self.path, f"{LABELS[self.kind]} demasiado grande (más de "
                                 f"{MAX_UNCOMPRESSED // MEGABYTE} MB sin comprimir, en {name})")


@contextmanager
def _open_archive(path: Path, kind: str) -> Iterator[_Archive]:
    try:
        file = path.open("rb")
    except OSError as exc:
        raise _error(path, _os_reason(exc)) from exc
    with file:
        if _is_empty(file):
            raise _error(path, "archivo vacío")
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            # Not only BadZipFile: a mangled directory makes zipfile seek to nonsense.
            raise _error(path, f"{LABELS[kind]} dañado (no es un archivo ZIP válido)") from exc
        with archive:
            yield _Archive(path, kind, archive)


def _is_empty(file: IO[bytes]) -> bool:
    empty = file.seek(0, 2) == 0
    file.seek(0)
    return empty


def _parse_xml(data: bytes, name: str, damaged) -> ET.Element:
    # None of these formats declares entities; one that does is an expansion attack.
    if b"<!ENTITY" in data:
        raise damaged(f"{name} declara entidades XML, que no se admiten")
    try:
        return ET.fromstring(data)
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise damaged(f"XML no válido en {name}: {exc}") from exc


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag: object) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


# --- Word (.docx) ----------------------------------------------------------------

# Transitional and Strict Office Open XML name the same elements differently.
_W_NAMESPACES = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                 "http://purl.oclc.org/ooxml/wordprocessingml/main")
_DC = "{http://purl.org/dc/elements/1.1/}"
# Deleted or moved-away text, field codes ("TOC \o 1-3"), formatting, and text
# boxes, which float beside the paragraph that anchors them.
_WORD_SKIPPED = {"del", "moveFrom", "delText", "instrText", "delInstrText", "pPr", "rPr", "txbxContent",
                 "sdtPr", "footnoteReference", "endnoteReference", "commentReference"}
_WORD_SPACES = {"tab", "ptab", "br", "cr"}
# Containers that hold paragraphs or table rows and add nothing of their own.
_WORD_WRAPPERS = {"sdt", "sdtContent", "customXml", "ins", "moveTo"}
_HEADING_STYLE = re.compile(r"^(?:heading|t[ií]?tulo)\s*[1-9]$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^t(?:itle|[ií]?tulo)$", re.IGNORECASE)
# The table of contents' entries ("toc 1", "TDC1", "Contenido1"): the headings
# again with page numbers, which would each read as a section heading.
_TOC_STYLE = re.compile(r"^(?:toc|tdc|contenido)\s*[1-9]$", re.IGNORECASE)


class _Style(NamedTuple):
    name: str
    outline: int | None  # 0-8 for headings
    numbered: bool  # a list style
    parent: str | None


def _word_name(element: ET.Element) -> str | None:
    """The local name of a WordprocessingML element; None for other vocabularies."""
    return _local(element.tag) if _namespace(element.tag) in _W_NAMESPACES else None


def _word_attr(element: ET.Element, name: str) -> str | None:
    for namespace in _W_NAMESPACES:
        value = element.get(f"{{{namespace}}}{name}")
        if value is not None:
            return value
    return None


def _word_child(element: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in element if _word_name(child) == name), None)


def _read_docx(path: Path) -> _Document:
    with _open_archive(path, "docx") as archive:
        document = archive.xml("word/document.xml")
        styles = _docx_styles(archive.xml("word/styles.xml")) if archive.has("word/styles.xml") else {}
        body = _word_child(document, "body")
        if body is None:
            raise archive.damaged("word/document.xml no tiene cuerpo")
        blocks = _docx_blocks(body, styles)
        # Notes follow the body: they are the author's text too, and have no place of their own.
        for part in ("word/footnotes.xml", "word/endnotes.xml"):
            if archive.has(part):
                blocks += _docx_notes(archive.xml(part), styles)
        core = archive.xml("docProps/core.xml") if archive.has("docProps/core.xml") else None
    metadata = _properties(core.findtext(f"{_DC}title"), core.findtext(f"{_DC}creator")) if core is not None else {}
    return _Document(blocks, metadata, _first_title(blocks))


def _docx_styles(root: ET.Element) -> dict[str, _Style]:
    styles = {}
    for style in root:
        if _word_name(style) != "style" or _word_attr(style, "type") not in (None, "paragraph"):
            continue
        style_id = _word_attr(style, "styleId")
        if not style_id:
            continue
        name = _word_child(style, "name")
        parent = _word_child(style, "basedOn")
        properties = _word_child(style, "pPr")
        styles[style_id] = _Style(
            name=(_word_attr(name, "val") if name is not None else None) or style_id,
            outline=_outline_level(properties),
            numbered=properties is not None and _word_child(properties, "numPr") is not None,
            parent=_word_attr(parent, "val") if parent is not None else None,
        )
    return styles


def _outline_level(properties: ET.Element | None) -> int | None:
    level = _word_child(properties, "outlineLvl") if properties is not None else None
    value = _word_attr(level, "val") if level is not None else None
    return int(value) if value and value.isdigit() else None


def _style_chain(styles: dict[str, _Style], style_id: str | None) -> list[_Style]:
    """The style and those it is based on, nearest first (cycles cut)."""
    chain: list[_Style] = []
    while style_id in styles and len(chain) < 20:
        chain.append(styles[style_id])
        style_id = styles[style_id].parent
    return chain


def _docx_role(paragraph: ET.Element, styles: dict[str, _Style]) -> str:
    """ "title", "heading", "toc", "list" or "body", from the paragraph's style
    (followed through the styles it is based on) and its own properties."""
    properties = _word_child(paragraph, "pPr")
    style = _word_child(properties, "pStyle") if properties is not None else None
    style_id = _word_attr(style, "val") if style is not None else None
    chain = _style_chain(styles, style_id)
    name = chain[0].name if chain else style_id or ""
    if _TOC_STYLE.match(name) or (style_id and _TOC_STYLE.match(style_id)):
        return "toc"
    if _TITLE_STYLE.match(name) or (style_id and _TITLE_STYLE.match(style_id)):
        return "title"
    outline = _outline_level(properties)
    if outline is None:
        outline = next((s.outline for s in chain if s.outline is not None), None)
    if _HEADING_STYLE.match(name) or (style_id and _HEADING_STYLE.match(style_id)) or (
            outline is not None and outline < 9):
        return "heading"
    numbered = properties is not None and _word_child(properties, "numPr") is not None
    return "list" if numbered or any(s.numbered for s in chain) else "body"


def _docx_blocks(container: ET.Element, styles: dict[str, _Style]) -> list[_Block]:
    """The paragraphs and tables of a body, table cell or note, in order."""
    blocks: list[_Block] = []
    for child in container:
        name = _word_name(child)
        if name == "p":
            role = _docx_role(child, styles)
            text = _collapse("".join(_word_text(child)))
            if text and role != "toc":
                blocks.append(_Block(text, role))
        elif name == "tbl":
            text = _docx_table(child, styles)
            if text:
                blocks.append(_Block(text))
        elif name in _WORD_WRAPPERS or _local(child.tag) in ("AlternateContent", "Choice"):
            blocks += _docx_blocks(child, styles)
    return blocks


def _word_text(element: ET.Element) -> Iterator[str]:
    """The visible text inside a paragraph, in order."""
    for child in element:
        name = _word_name(child)
        if name is None:
            # Other vocabularies only wrap Word content here (drawings, markup
            # compatibility); mc:Fallback repeats what mc:Choice holds.
            if _local(child.tag) != "Fallback":
                yield from _word_text(child)
        elif name == "t":
            yield child.text or ""
        elif name in _WORD_SPACES:
            yield " "
        elif name == "noBreakHyphen":
            yield "-"
        elif name == "r" and _is_hidden(child):
            continue
        elif name not in _WORD_SKIPPED:
            yield from _word_text(child)


def _is_hidden(run: ET.Element) -> bool:
    properties = _word_child(run, "rPr")
    vanish = _word_child(properties, "vanish") if properties is not None else None
    return vanish is not None and _word_attr(vanish, "val") not in ("0", "false", "off")


def _docx_table(table: ET.Element, styles: dict[str, _Style]) -> str:
    rows = []
    for row in _word_descendants(table, "tr"):
        cells = (_blocks_text(_docx_blocks(cell, styles)) for cell in _word_descendants(row, "tc"))
        rows.append(CELL_SEPARATOR.join(cell for cell in cells if cell))
    return ROW_SEPARATOR.join(row for row in rows if row)


def _word_descendants(element: ET.Element, name: str) -> Iterator[ET.Element]:
    """Children named `name`, also those inside content controls; not nested tables' ones."""
    for child in element:
        child_name = _word_name(child)
        if child_name == name:
            yield child
        elif child_name in _WORD_WRAPPERS:
            yield from _word_descendants(child, name)


def _docx_notes(root: ET.Element, styles: dict[str, _Style]) -> list[_Block]:
    blocks: list[_Block] = []
    for note in root:
        # The separator lines Word draws above the notes are notes too, of their own types.
        if _word_name(note) in ("footnote", "endnote") and _word_attr(note, "type") in (None, "normal"):
            blocks += [_Block(b.text, "list" if b.role == "list" else "body") for b in _docx_blocks(note, styles)]
    return blocks


# --- OpenDocument text (.odt) --------------------------------------------------

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
# Inside a paragraph: comments, frames (text boxes and images float beside the
# text), and the footnote's number, whose body is read separately.
_ODT_INLINE_SKIPPED = {f"{_OFFICE}annotation", f"{_OFFICE}annotation-end",
                       "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}frame", f"{_TEXT}note-citation"}
_ODT_ROW_GROUPS = {f"{_TABLE}table-header-rows", f"{_TABLE}table-rows", f"{_TABLE}table-row-group"}


class _OdtContext(NamedTuple):
    titles: frozenset[str]  # paragraph style names that are the document's title
    notes: list[_Block]  # footnotes and endnotes met so far, read after the body


def _read_odt(path: Path) -> _Document:
    with _open_archive(path, "odt") as archive:
        content = archive.xml("content.xml")
        meta = archive.xml("meta.xml") if archive.has("meta.xml") else None
    text = content.find(f"{_OFFICE}body/{_OFFICE}text")
    if text is None:
        raise _error(path, "no es un documento de texto OpenDocument (content.xml no tiene office:text)")
    context = _OdtContext(_odt_title_styles(content), [])
    blocks = _odt_blocks(text, context) + context.notes
    metadata = {}
    if meta is not None:
        author = meta.findtext(f"{_OFFICE}meta/{_META}initial-creator") or meta.findtext(f"{_OFFICE}meta/{_DC}creator")
        metadata = _properties(meta.findtext(f"{_OFFICE}meta/{_DC}title"), author)
    return _Document(blocks, metadata, _first_title(blocks))


def _odt_title_styles(content: ET.Element) -> frozenset[str]:
    # LibreOffice gives a title paragraph an automatic style ("P1") whose parent is "Title".
    names = {"Title"}
    for style in content.iterfind(f"{_OFFICE}automatic-styles/{_STYLE}style"):
        if style.get(f"{_STYLE}parent-style-name") == "Title":
            names.add(style.get(f"{_STYLE}name", ""))
    return frozenset(names)


def _odt_blocks(container: ET.Element, context: _OdtContext, role: str = "body") -> list[_Block]:
    """Paragraphs, headings, lists and tables in order; sections are opened,
    the generated table of contents and tracked deletions are not."""
    blocks: list[_Block] = []
    for child in container:
        tag = child.tag
        if tag in (f"{_TEXT}p", f"{_TEXT}h"):
            text = _collapse("".join(_odt_text(child, context)))
            if text:
                blocks.append(_Block(text, _odt_role(child, context, role)))
        elif tag == f"{_TEXT}list":
            for item in child:
                blocks += _odt_blocks(item, context, "list")
        elif tag == f"{_TABLE}table":
            text = _odt_table(child, context)
            if text:
                blocks.append(_Block(text))
        elif tag == f"{_TEXT}section":
            blocks += _odt_blocks(child, context, role)
    return blocks


def _odt_role(paragraph: ET.Element, context: _OdtContext, role: str) -> str:
    if paragraph.tag == f"{_TEXT}h":
        return "heading"
    if paragraph.get(f"{_TEXT}style-name") in context.titles:
        return "title"
    return role


def _odt_text(element: ET.Element, context: _OdtContext) -> Iterator[str]:
    yield element.text or ""
    for child in element:
        tag = child.tag
        if tag in (f"{_TEXT}s", f"{_TEXT}tab", f"{_TEXT}line-break"):
            yield " "
        elif tag == f"{_TEXT}note":
            body = child.find(f"{_TEXT}note-body")
            if body is not None:
                context.notes.extend(_Block(b.text) for b in _odt_blocks(body, context))
        elif tag not in _ODT_INLINE_SKIPPED:
            yield from _odt_text(child, context)
        yield child.tail or ""


def _odt_table(table: ET.Element, context: _OdtContext) -> str:
    rows = []
    for row in _odt_rows(table):
        cells = (_blocks_text(_odt_blocks(cell, context)) for cell in row if cell.tag == f"{_TABLE}table-cell")
        rows.append(CELL_SEPARATOR.join(cell for cell in cells if cell))
    return ROW_SEPARATOR.join(row for row in rows if row)


def _odt_rows(element: ET.Element) -> Iterator[ET.Element]:
    for child in element:
        if child.tag == f"{_TABLE}table-row":
            yield child
        elif child.tag in _ODT_ROW_GROUPS:
            yield from _odt_rows(child)


# --- EPUB --------------------------------------------------------------------

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_XENC = "{http://www.w3.org/2001/04/xmlenc#}"
_XHTML_TYPES = ("application/xhtml+xml", "text/html")
# Font obfuscation, not DRM: the chapters themselves are readable.
_FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")


def _read_epub(path: Path) -> _Document:
    with _open_archive(path, "epub") as archive:
        package_path = _epub_package_path(archive)
        package = archive.xml(package_path)
        chapters = _epub_chapters(package, posixpath.dirname(package_path))
        if not chapters:
            raise _error(path, "EPUB sin capítulos legibles")
        encrypted = _epub_encrypted(archive)
        if encrypted & set(chapters):
            raise _error(path, "EPUB protegido con DRM (sus capítulos están cifrados)")
        blocks: list[_Block] = []
        for chapter in chapters:
            blocks += _parse_html(_decode_html(archive.read(chapter)), archive.damaged).blocks
    title, creator = (next(package.iter(f"{_DC}{name}"), None) for name in ("title", "creator"))
    return _Document(blocks, _properties(title.text if title is not None else None,
                                          creator.text if creator is not None else None))


def _epub_package_path(archive: _Archive) -> str:
    container = archive.xml("META-INF/container.xml")
    for rootfile in container.iter(f"{_CONTAINER}rootfile"):
        if rootfile.get("media-type", "application/oebps-package+xml") == "application/oebps-package+xml" \
                and rootfile.get("full-path"):
            return rootfile.get("full-path", "")
    raise archive.damaged("META-INF/container.xml no indica el archivo OPF")


def _epub_chapters(package: ET.Element, base: str) -> list[str]:
    """Archive names of the spine's XHTML documents in reading order; the
    navigation document is left out (it lists the headings again)."""
    items = {}
    for item in package.iterfind(f"{_OPF}manifest/{_OPF}item"):
        if item.get("media-type") in _XHTML_TYPES and "nav" not in item.get("properties", "").split():
            items[item.get("id")] = _epub_member(base, item.get("href", ""))
    spine = package.iterfind(f"{_OPF}spine/{_OPF}itemref")
    return list(dict.fromkeys(items[ref.get("idref")] for ref in spine if ref.get("idref") in items))


def _epub_member(base: str, href: str) -> str:
    # Manifest references are URLs relative to the OPF file: "Text/cap%201.xhtml#inicio".
    return posixpath.normpath(posixpath.join(base, unquote(href.split("#", 1)[0])))


def _epub_encrypted(archive: _Archive) -> set[str]:
    if not archive.has("META-INF/encryption.xml"):
        return set()
    encrypted = set()
    for data in archive.xml("META-INF/encryption.xml").iter(f"{_XENC}EncryptedData"):
        method = data.find(f"{_XENC}EncryptionMethod")
        if method is not None and method.get("Algorithm") in _FONT_OBFUSCATION:
            continue
        for reference in data.iter(f"{_XENC}CipherReference"):
            encrypted.add(_epub_member("", reference.get("URI", "")))
    return encrypted


# --- HTML --------------------------------------------------------------------

# Never text: code, styles, templates, the head; and site chrome around the content.
_HTML_SKIPPED = {"script", "style", "noscript", "template", "head", "nav", "header", "footer", "svg"}
_HTML_BLOCKS = {"p", "div", "li", "blockquote", "pre", "section", "article", "main", "aside", "ul", "ol", "dl",
                "dt", "dd", "figure", "figcaption", "address", "hr", "form", "fieldset", "details", "summary",
                "body", "html", "center", "br"}
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_HTML_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# Which meta tags name the title and author, best first.
_TITLE_METAS = ("citation_title", "dc.title", "og:title")
_AUTHOR_METAS = ("citation_author", "dc.creator", "author")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)""",
                      re.IGNORECASE)


def _read_html(path: Path) -> _Document:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _error(path, _os_reason(exc)) from exc
    if not data:
        raise _error(path, "archivo vacío")
    parsed = _parse_html(_decode_html(data), lambda reason: _error(path, f"HTML dañado ({reason})"))
    title = next((parsed.metas[name] for name in _TITLE_METAS if name in parsed.metas), parsed.title)
    author = next((parsed.metas[name] for name in _AUTHOR_METAS if name in parsed.metas), None)
    # A page's only h1 is its title; with several, none of them is.
    guess = parsed.h1s[0] if len(parsed.h1s) == 1 else None
    return _Document(parsed.blocks, _properties(title, author), guess)


def _decode_html(data: bytes) -> str:
    """By byte order mark, then the declared charset, then UTF-8; else Windows-1252,
    which decodes any byte and is what "ISO-8859-1" pages really are."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    for candidate in (_declared_charset(data), "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except UnicodeDecodeError:
                continue
    return data.decode("cp1252", errors="replace")


def _declared_charset(data: bytes) -> str | None:
    match = _CHARSET.search(data[:4096])
    if not match:
        return None
    try:
        name = codecs.lookup((match.group(1) or match.group(2)).decode("ascii")).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):  # a page read as ASCII to find this cannot be in them
        return None
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


class _ParsedHtml(NamedTuple):
    blocks: list[_Block]
    title: str | None
    metas: dict[str, str]
    h1s: list[str]


def _parse_html(text: str, damaged) -> _ParsedHtml:
    parser = _HtmlText()
    try:
        parser.feed(text)
        parser.close()
    except RecursionError:
        raise
    except Exception as exc:  # html.parser is meant to take anything; a crash must not stop the ingest
        raise damaged(f"no se puede analizar: {exc}") from exc
    parser.flush()
    title = _collapse("".join(parser.title_parts)) or None
    return _ParsedHtml(parser.blocks, title, parser.metas, parser.h1s)


class _HtmlText(HTMLParser):
    """Paragraphs from HTML: block elements end them, headings are their own.

    A table becomes one paragraph, cells joined by " · " and rows by " / ":
    rows as paragraphs of their own would be short unpunctuated lines, which
    the chunker takes for section headings, and rows ending in numbers look
    like a table of contents to the passage classifier.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self.metas: dict[str, str] = {}
        self.title_parts: list[str] = []
        self.h1s: list[str] = []
        self._parts: list[str] = []
        self._role = "body"
        self._pending = ""  # a cell or row separator, written only if more text follows
        self._skipping: str | None = None  # the element whose content is being left out
        self._skip_depth = 0
        self._tables = 0  # open tables
        self._in_title = False
        self._heading: str | None = None

    # Paragraph building.

    def flush(self) -> None:
        text = _collapse("".join(self._parts))
        self._parts, self._pending = [], ""
        if not text:
            return
        self.blocks.append(_Block(text, self._role))
        if self._heading == "h1":
            self.h1s.append(text)
        # A heading or item left open ends with its first paragraph.
        self._role, self._heading = "body", None

    def _separate(self, separator: str) -> None:
        if any(part.strip() for part in self._parts):
            self._pending = ROW_SEPARATOR if ROW_SEPARATOR in (separator, self._pending) else separator

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
            return
        if self._skipping:
            return
        if self._pending and data.strip():
            self._parts.append(self._pending)
            self._pending = ""
        self._parts.append(data)

    # Elements.

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self._meta(dict(attrs))
        if tag == "body" and self._skipping == "head":  # the head's end tag is optional
            self._skipping, self._skip_depth = None, 0
        if self._skipping:
            if tag == self._skipping:
                self._skip_depth += 1
            if tag == "title" and self._skipping == "head":
                self._in_title = True
            return
        if tag == "title":
            self._in_title = True
            return
        if tag not in _HTML_VOID and (tag in _HTML_SKIPPED or self._hidden(dict(attrs))):
            self._skipping, self._skip_depth = tag, 1
            return
        self._structure(tag, start=True)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._skipping:
            if tag == self._skipping:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skipping = None
            return
        self._structure(tag, start=False)

    def _structure(self, tag: str, start: bool) -> None:
        if tag in _HTML_HEADINGS:
            self.flush()
            self._role, self._heading = ("heading", tag) if start else ("body", None)
        elif tag == "table":
            self._tables = self._tables + 1 if start else max(self._tables - 1, 0)
            if self._tables == 0 or (start and self._tables == 1):
                self.flush()
        elif self._tables:
            self._table_part(tag, start)
        elif tag in _HTML_BLOCKS:
            self.flush()
            if start and tag == "li":
                self._role = "list"

    def _table_part(self, tag: str, start: bool) -> None:
        # Inside a table, blocks end lines, not paragraphs: Word's HTML puts a <p> in every cell.
        if start and tag in ("td", "th"):
            self._separate(CELL_SEPARATOR)
        elif not start and tag in ("tr", "caption"):
            self._separate(ROW_SEPARATOR)
        elif tag in _HTML_BLOCKS:
            self._parts.append(" ")

    def _hidden(self, attrs: dict[str, str | None]) -> bool:
        return "hidden" in attrs or bool(_HIDDEN_STYLE.search(attrs.get("style") or ""))

    def _meta(self, attrs: dict[str, str | None]) -> None:
        name = (attrs.get("name") or attrs.get("property") or "").strip().lower()
        content = _collapse(attrs.get("content") or "")
        if name and content and name not in self.metas:
            self.metas[name] = content
