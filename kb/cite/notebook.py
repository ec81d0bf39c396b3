"""The citation notebook: passages the user keeps, with their locator and a note.

Stored as UTF-8 JSON (`{"version": 1, "entries": [...]}`) beside the index. The
file is read again before every operation and rewritten atomically after every
change, so a later session (or another Notebook on the same file) sees every
change and a crash never leaves half a file. There is no lock: two processes
adding at the very same moment can still lose one of the two additions. A file that cannot be read is never overwritten: every operation
raises `NotebookError` until the user repairs or removes it, because replacing it
would destroy the citations it still holds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from kb.errors import KBError
from kb.files import write_atomic

NOTEBOOK_FILE = "cuaderno.json"
VERSION = 1


class NotebookError(KBError):
    """The notebook file cannot be read or written; the message names the file and the reason."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Entry:
    chunk_id: str
    doc_id: str
    quote: str  # the verbatim passage or sentence
    locator: str  # "p. 4", "párr. 12"
    page: int | None
    note: str = ""
    added: str = field(default_factory=_now)  # ISO 8601, UTC


_REQUIRED = {"chunk_id": str, "doc_id": str, "quote": str, "locator": str, "added": str}
_FIELDS = {f.name for f in fields(Entry)}


def notebook_path(index_directory: Path) -> Path:
    return Path(index_directory) / NOTEBOOK_FILE


class Notebook:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> list[Entry]:
        """Entries in the order they were added; a missing file is an empty notebook."""
        return self._read()

    def add(self, entry: Entry) -> bool:
        """False (and nothing written) when the same passage is already there."""
        entries = self._read()
        if any(e.chunk_id == entry.chunk_id and _same_quote(e.quote, entry.quote) for e in entries):
            return False
        entries.append(entry)
        self._write(entries)
        return True

    def remove(self, chunk_id: str, quote: str | None = None) -> int:
        """Removes the passage's entries (only the one with `quote`, if given); returns how many."""
        entries = self._read()
        kept = [e for e in entries if not _matches(e, chunk_id, quote)]
        if len(kept) != len(entries):
            self._write(kept)
        return len(entries) - len(kept)

    def set_note(self, chunk_id: str, note: str, *, quote: str | None = None) -> int:
        """Sets the note of the passage's entries; returns how many were found."""
        entries = self._read()
        found = [e for e in entries if _matches(e, chunk_id, quote)]
        if any(e.note != note for e in found):
            for e in found:
                e.note = note
            self._write(entries)
        return len(found)

    def _read(self) -> list[Entry]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise self._error(f"no se puede leer ({error.strerror or error})") from error
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise self._error("no está en UTF-8") from error
        except json.JSONDecodeError as error:
            raise self._error(f"JSON no válido en la línea {error.lineno}, columna {error.colno}") from error
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise self._error('falta la lista "entries"')
        if data.get("version") != VERSION:
            raise self._error(f"versión {data.get('version')!r} no admitida (se esperaba {VERSION})")
        return [self._entry(i, item) for i, item in enumerate(data["entries"], start=1)]

    def _entry(self, number: int, item: object) -> Entry:
        if not isinstance(item, dict):
            raise self._error(f"la entrada {number} no es un objeto")
        # Unknown fields are refused rather than dropped: the next write would lose them.
        unknown = sorted(set(item) - _FIELDS)
        if unknown:
            raise self._error(f"la entrada {number} tiene campos desconocidos: {', '.join(unknown)}")
        for name, kind in _REQUIRED.items():
            if not isinstance(item.get(name), kind):
                raise self._error(f"la entrada {number} no tiene un campo {name!r} válido")
        page = item.get("page")
        if page is not None and (isinstance(page, bool) or not isinstance(page, int)):
            raise self._error(f"la entrada {number} tiene una página no válida: {page!r}")
        if not isinstance(item.get("note", ""), str):
            raise self._error(f"la entrada {number} tiene una nota no válida")
        return Entry(**{"note": "", "page": None, **item})

    def _write(self, entries: list[Entry]) -> None:
        data = {"version": VERSION, "entries": [asdict(e) for e in entries]}
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, text.encode("utf-8"))
        except OSError as error:
            raise NotebookError(f"{self.path}: no se pudo guardar el cuaderno de citas "
                                f"({error.strerror or error})") from error

    def _error(self, reason: str) -> NotebookError:
        return NotebookError(f"{self.path}: cuaderno de citas no válido ({reason}); "
                             "no se modificará hasta que se repare o se retire el archivo")


def _same_quote(a: str, b: str) -> bool:
    # The same passage copied twice may differ only in line breaks or spacing.
    return a.split() == b.split()


def _matches(entry: Entry, chunk_id: str, quote: str | None) -> bool:
    return entry.chunk_id == chunk_id and (quote is None or _same_quote(entry.quote, quote))
