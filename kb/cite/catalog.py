"""Document metadata from a catalog file (TOML), one table per file name.

A catalog sits beside the documents it describes (`catalog.toml`); it holds
only what is known, so every field is optional and an unknown one is absent.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from kb.errors import KBError
from kb.records import DocumentMeta
from kb.text.fold import fold_key

CATALOG_FILE = "catalog.toml"


class CatalogError(KBError):
    """The catalog file cannot be read; the message names the file and the line."""


_FIELDS = {f.name for f in fields(DocumentMeta)}


def slugify(filename: str) -> str:
    """A document id from a file name: lowercase ASCII words joined by hyphens."""
    return fold_key(Path(filename).stem).replace(" ", "-") or "documento"


def load_catalog(path: str | Path) -> dict[str, DocumentMeta]:
    """Entries keyed by file name; a missing catalog is an empty one."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: catálogo no válido ({error})") from error
    return {name: _entry(path, name, values) for name, values in data.items()}


def _entry(path: Path, name: str, values: object) -> DocumentMeta:
    if not isinstance(values, dict):
        raise CatalogError(f"{path}: la entrada [{name!r}] debe ser una tabla de campos")
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise CatalogError(
            f"{path}: campo desconocido en [{name!r}]: {', '.join(unknown)} "
            f"(admitidos: {', '.join(sorted(_FIELDS))})"
        )
    meta = dict(values)
    if "authors" in meta:
        authors = meta["authors"]
        if isinstance(authors, str) or not all(isinstance(a, str) for a in authors):
            raise CatalogError(f"{path}: en [{name!r}], authors debe ser una lista de nombres")
        meta["authors"] = tuple(authors)
    if "year" in meta and not isinstance(meta["year"], int):
        raise CatalogError(f"{path}: en [{name!r}], year debe ser un número entero (p. ej. 1998)")
    for key in _FIELDS - {"authors", "year"}:
        if key in meta:
            meta[key] = str(meta[key])
    return DocumentMeta(**meta)
