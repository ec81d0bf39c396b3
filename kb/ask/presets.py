"""Comparison presets: shipped in corpus/comparisons.toml, extended by the user's
own `comparisons.toml` in the index directory (a preset with the same id replaces
the shipped one)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kb.ask.compare import KINDS, Aspect
from kb.config import bundled_corpus_dir
from kb.errors import KBError

PRESETS_FILE = "comparisons.toml"


class PresetError(KBError):
    """A presets file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    columns: str  # a column kind: "framework", "document" or "concept"
    ids: tuple[str, ...]
    aspects: tuple[Aspect, ...]


def table_spec(index_directory: Path | None, *, preset: str | None = None, docs: tuple[str, ...] = (),
               frameworks: tuple[str, ...] = (), concepts: tuple[str, ...] = (),
               aspects: tuple[str, ...] = ()) -> tuple[Preset, tuple[str, ...]]:
    """What a table request asks for, as a preset (title, column kind and ids, rows)
    and the documents framework or concept columns are limited to. Columns come from
    `frameworks`, `concepts`, else `docs`, else the preset; rows from `aspects`, else
    the preset's. Raises KBError in Spanish when something is missing or unknown."""
    title, kind = "", ""
    ids: tuple[str, ...] = ()
    rows = tuple(Aspect(a) for a in aspects)
    scope = tuple(docs)
    if preset:
        presets = load_presets(index_directory)
        if preset not in presets:
            raise PresetError(f"Tabla predefinida desconocida: {preset!r} (disponibles: {', '.join(sorted(presets))}).")
        chosen = presets[preset]
        title, kind, ids = chosen.title, chosen.columns, chosen.ids
        rows = rows or chosen.aspects
    for option, values in (("framework", frameworks), ("concept", concepts)):
        if values:
            kind, ids = option, tuple(values)
    if docs and kind in ("", "document"):
        kind, ids, scope = "document", tuple(docs), ()
    if not kind or not rows:
        raise PresetError("Indique columnas (--preset, --docs, --frameworks o --concepts) "
                          "y filas (--aspects o --preset).")
    return Preset(preset or "", title, kind, ids, rows), scope


def load_presets(index_directory: Path | None = None) -> dict[str, Preset]:
    paths = [bundled_corpus_dir() / PRESETS_FILE]
    if index_directory is not None and (Path(index_directory) / PRESETS_FILE).is_file():
        paths.append(Path(index_directory) / PRESETS_FILE)
    presets: dict[str, Preset] = {}
    for path in paths:
        presets.update({p.id: p for p in _read(path)})
    return presets


def _read(path: Path) -> list[Preset]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PresetError(f"{path}: no se pueden leer las tablas predefinidas ({error})") from error
    presets = []
    for number, entry in enumerate(data.get("preset", []), 1):
        name = entry.get("id") or f"n.º {number}"
        missing = [k for k in ("id", "title", "columns", "ids", "aspects") if not entry.get(k)]
        if missing:
            raise PresetError(f"{path}: a la tabla {name} le falta: {', '.join(missing)}")
        if entry["columns"] not in KINDS:
            raise PresetError(f"{path}: en la tabla {name}, columns debe ser uno de: {', '.join(KINDS)}")
        aspects = tuple(Aspect(a["label"], a.get("query", ""), tuple(a.get("terms", ()))) if isinstance(a, dict)
                        else Aspect(str(a)) for a in entry["aspects"])
        presets.append(Preset(entry["id"], entry["title"], entry["columns"], tuple(entry["ids"]), aspects))
    return presets


def save_preset(index_directory: Path, preset: Preset) -> Path:
    """Add (or replace) a user preset in `<index>/comparisons.toml`, keeping the others."""
    import tomlkit

    from kb.files import write_atomic

    path = Path(index_directory) / PRESETS_FILE
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    kept = [p for p in document.get("preset", []) if p.get("id") != preset.id]
    table = tomlkit.table()
    table.update({"id": preset.id, "title": preset.title, "columns": preset.columns, "ids": list(preset.ids)})
    aspects = tomlkit.array()
    for aspect in preset.aspects:
        item = tomlkit.inline_table()
        item.update({"label": aspect.label, **({"query": aspect.query} if aspect.query else {}),
                     **({"terms": list(aspect.terms)} if aspect.terms else {})})
        aspects.append(item)
    table["aspects"] = aspects
    array = tomlkit.aot()
    for entry in [*kept, table]:
        array.append(entry)
    document["preset"] = array
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomlkit.dumps(document).encode("utf-8"))
    return path
