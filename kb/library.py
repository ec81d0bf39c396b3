"""Managing the library from an interface: uploads and metadata edits.

Uploaded files live under the data directory (`<index>/documentos/`); edited
metadata is written to the `catalog.toml` beside the document's file, the same
file a user would edit by hand, so a later re-ingest keeps the edit.
"""

from __future__ import annotations

import os
import re
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
    """The kind of an upload, from its content: "pdf", "text" or None (anything else)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    head = data[:4096]
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multibyte character cut at the edge is fine
            return None
    if re.match(rb"\s*<(!doctype|html)", head, re.IGNORECASE):
        return None
    return "text"


def save_upload(index_directory: Path, name: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Path:
    """Store an uploaded file under the data directory and return its path."""
    target_name = safe_name(name)
    suffix = Path(target_name).suffix
    if suffix not in (".pdf", ".txt", ".md"):
        raise UploadError(f"{name}: tipo de archivo no admitido (use PDF, TXT o MD)")
    if not data:
        raise UploadError(f"{name}: el archivo está vacío")
    if len(data) > max_bytes:
        raise UploadError(f"{name}: supera el tamaño máximo de {max_bytes // (1024 * 1024)} MB")
    kind = kind_of(data)
    if (suffix == ".pdf") != (kind == "pdf") or kind is None:
        found = {"pdf": "un PDF", "text": "texto"}.get(kind or "", "otro tipo de archivo")
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
