"""Managing the library from an interface: uploads and metadata edits.

Uploaded files live under the data directory (`<index>/documentos/`); edited
metadata is written to the `catalog.toml` beside the document's file, the same
file a user would edit by hand, so a later re-ingest keeps the edit.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
import zlib
from dataclasses import fields
from pathlib import Path

from kb.cite.catalog import CATALOG_FILE
from kb.errors import KBError
from kb.files import write_atomic
from kb.index import KnowledgeBase
from kb.records import DocumentMeta
from kb.text.fold import to_ascii

UPLOAD_DIR = "documentos"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
EDITABLE = ("title", "authors", "year", "venue", "doi")
# The kind (as `kind_of` names it) each accepted extension must have.
UPLOAD_KINDS = {".pdf": "pdf", ".txt": "text", ".md": "text", ".docx": "docx", ".odt": "odt", ".epub": "epub",
                ".html": "html", ".htm": "html"}
ACCEPTED = "PDF, TXT, MD, DOCX, ODT, EPUB o HTML"
_FOUND = {"pdf": "un PDF", "text": "texto", "html": "una página HTML", "docx": "un documento Word",
          "odt": "un documento OpenDocument", "epub": "un EPUB", "zip": "un archivo ZIP de otro tipo"}
_MIMETYPES = {b"application/vnd.oasis.opendocument.text": "odt", b"application/epub+zip": "epub"}
# A page, not text that mentions a tag: what opens the file (after a byte order
# mark, an XML declaration, comments), or a <body> anywhere near the start.
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?(?:\s|<\?xml[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)
_HTML_BODY = re.compile(rb"<body\b", re.IGNORECASE)
# Looser, only for a file named .html: a fragment that opens with a common tag.
_HTML_FRAGMENT = re.compile(rb"^(?:\xef\xbb\xbf)?(?:\s|<!--.*?-->)*<(?:p|div|h[1-6]|meta|title|table|ul|ol|section|"
                            rb"article|span|a)\b", re.IGNORECASE | re.DOTALL)


class UploadError(KBError):
    """An upload refused; the message names the file and the reason."""


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder or surprise a shell: no path
    parts, no control characters, letters, digits, dots, hyphens and underscores."""
    base = Path(name.replace("\\", "/")).name
    base = to_ascii(base)
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "documento"
    return f"{stem[:120]}{suffix.lower()}"


def kind_of(data: bytes) -> str | None:
    """The kind of an upload, from its content: "pdf", "docx", "odt", "epub", "zip"
    (another archive), "html", "text" or None (anything else)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    head = data[:4096]
    if _is_html(head):
        return "html"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multibyte character cut at the edge is fine
            return None
    return "text"


def _zip_kind(data: bytes) -> str | None:
    # OpenDocument and EPUB name their type in a "mimetype" member; Word has no such
    # member, but its main part has a fixed name.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= 100:
                with archive.open("mimetype") as member:
                    kind = _MIMETYPES.get(member.read(100).strip())
                if kind:
                    return kind
            if "word/document.xml" in names:
                return "docx"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zlib.error):
        return None
    return "zip"


def _is_html(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    return bool(_HTML_START.match(head) or _HTML_BODY.search(head))


def save_upload(index_directory: Path, name: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Path:
    """Store an uploaded file under the data directory and return its path."""
    target_name = safe_name(name)
    suffix = Path(target_name).suffix
    expected = UPLOAD_KINDS.get(suffix)
    if expected is None:
        raise UploadError(f"{name}: tipo de archivo no admitido (use {ACCEPTED})")
    if not data:
        raise UploadError(f"{name}: el archivo está vacío")
    if len(data) > max_bytes:
        raise UploadError(f"{name}: supera el tamaño máximo de {max_bytes // (1024 * 1024)} MB")
    kind = kind_of(data)
    fragment = expected == "html" and kind == "text" and _HTML_FRAGMENT.match(data[:4096])
    if kind != expected and not fragment:
        found = _FOUND.get(kind or "", "otro tipo de archivo")
        raise UploadError(f"{name}: el contenido no corresponde a la extensión {suffix} (parece {found})")
    folder = Path(index_directory) / UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / target_name
    if target.exists() and target.read_bytes() != data:
        stem, n = target.stem, 2
        while target.exists():
            target = folder / f"{stem}-{n}{suffix}"
            n += 1
    write_atomic(target, data)
    return target


def edit_metadata(kb: KnowledgeBase, doc_id: str, **changes) -> DocumentMeta:
    """Change a document's title, authors, year, venue or DOI: in the index at
    once, and in the catalog beside its file for later re-ingests."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"campos no editables: {', '.join(sorted(unknown))}")
    document = kb.store.document(doc_id)
    if document is None:
        raise KBError(f"No existe el documento {doc_id!r}.")
    values = {f.name: getattr(document.meta, f.name) for f in fields(DocumentMeta)}
    for key, value in changes.items():
        if key == "authors":
            value = tuple(a.strip() for a in value if a and a.strip())
        elif key == "year":
            value = int(value) if value not in (None, "") else None
        else:
            value = value.strip() if isinstance(value, str) and value.strip() else None
        values[key] = value
    meta = DocumentMeta(**values)
    path = Path(document.path)
    save_catalog_entry(path.parent / CATALOG_FILE, path.name, meta)
    with kb.store.atomic():
        kb.store.update_metadata(doc_id, meta)
    return meta


def save_catalog_entry(catalog: Path, file_name: str, meta: DocumentMeta) -> None:
    """Replace one file's entry in a catalog, keeping the others and their comments."""
    import tomlkit

    document = tomlkit.parse(catalog.read_text(encoding="utf-8")) if catalog.is_file() else tomlkit.document()
    table = tomlkit.table()
    for f in fields(DocumentMeta):
        value = getattr(meta, f.name)
        if value in (None, (), ""):
            continue
        table[f.name] = list(value) if f.name == "authors" else value
    document[file_name] = table
    write_atomic(catalog, tomlkit.dumps(document).encode("utf-8"))
