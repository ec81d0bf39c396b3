"""`kb doctor`: check an index folder as it was found, and repair what SQLite can rebuild.

Opening a KnowledgeBase silently rebuilds a stale vector cache, so the checks
inspect the files without opening one: they report what was wrong before
anything fixed it. Repairs never re-extract documents: the FAISS file and the
lexical index are rebuilt from the chunks stored in SQLite, and only a chunk
whose stored vector is missing is embedded again, from its stored text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kb.model.encoder import Encoder
from kb.model.resolve import ModelInfo
from kb.store.db import DB_FILE, Store
from kb.store.migrations import LATEST
from kb.store.vectors import INDEX_FILE, MANIFEST_FILE, VectorIndex, build_vectors


@dataclass(frozen=True)
class Check:
    name: str  # stable id, for --json and tests
    label: str  # what is checked, in Spanish
    ok: bool
    detail: str  # what was found; for a failure, what is wrong and what to do
    repairable: bool = False  # whether `kb doctor --repair` fixes it


@dataclass(frozen=True)
class Repair:
    found: list[Check]  # before repairing
    actions: list[str] = field(default_factory=list)  # what was done, in Spanish
    checks: list[Check] = field(default_factory=list)  # after repairing


SQLITE = "Base de datos SQLite"
LOCK_TIMEOUT = 30.0  # seconds to wait for an ingest's transaction (one document) to end
NOT_REPAIRABLE = ("no se puede reparar: restaure una copia de la carpeta o vuelva a indexar los documentos "
                  "en una carpeta nueva")
ORPHANS = {"chunk_tags": "etiquetas de fragmentos inexistentes", "chunks": "fragmentos de documentos inexistentes",
           "pages": "páginas de documentos inexistentes"}


def diagnose(directory: str | Path, model: ModelInfo) -> list[Check]:
    """Every check, on the files as they are; nothing is written."""
    directory = Path(directory)
    path = directory / DB_FILE
    if not path.is_file():
        return [Check("sqlite", SQLITE, False, f"{path}: no existe; en esta carpeta no hay ningún índice")]
    checks: list[Check] = []
    store = Store(directory, mode="as_found", timeout=LOCK_TIMEOUT)
    try:
        _diagnose(store, directory, model, checks)
    except sqlite3.DatabaseError as error:
        if "locked" in str(error):  # the FTS5 check waits for the write lock, up to LOCK_TIMEOUT
            detail = (f"{path}: otra escritura lo tiene bloqueado (¿una ingesta en marcha?); vuelva a ejecutar "
                      "kb doctor cuando termine")
        else:
            detail = f"{path}: ilegible ({error}); {NOT_REPAIRABLE}"
        checks = [Check("sqlite", SQLITE, False, detail), *(c for c in checks if c.name != "sqlite")]
    finally:
        store.close()
    return checks


def _diagnose(store: Store, directory: Path, model: ModelInfo, checks: list[Check]) -> None:
    path = store.path
    problems = store.integrity_problems()
    if problems:
        # SQLite's report is multi-line ("*** in database main ***\nPage 5: ..."): one line, first few problems.
        lines = [line for p in problems for line in p.splitlines() if line and not line.startswith("***")]
        checks.append(Check("sqlite", SQLITE, False, f"{path}: dañada ({'; '.join(lines[:3])}); {NOT_REPAIRABLE}"))
        return
    version = store.schema_version()
    if version == 0:
        checks.append(Check("sqlite", SQLITE, False, f"{path}: no es un índice de kb (no tiene sus tablas)"))
        return
    if version > LATEST:
        checks.append(Check("sqlite", SQLITE, False,
                            f"{path}: lo creó una versión más nueva de kb (esquema {version}); actualice kb"))
        return
    if version < LATEST:
        checks.append(Check("sqlite", SQLITE, False, f"{path}: esquema antiguo ({version}); --repair lo actualiza",
                            repairable=True))
        return
    chunks = store.chunk_count()
    documents = len(store.documents())
    checks.append(Check("sqlite", SQLITE, True, f"sin errores ({_plural(documents, 'documento')}, "
                                                f"{_plural(chunks, 'fragmento')})"))

    if store.lexical_index_ok():
        checks.append(Check("fts", "Índice léxico (FTS5)", True, "coincide con el texto de los fragmentos"))
    else:
        checks.append(Check("fts", "Índice léxico (FTS5)", False,
                            "no coincide con el texto de los fragmentos: la búsqueda por palabras falla o "
                            "devuelve pasajes equivocados; --repair lo reconstruye", repairable=True))

    name = store.get_setting("model_name") or "?"
    fingerprint = store.get_setting("model_fingerprint") or "?"
    dimension = int(store.get_setting("dimension") or 0)
    same_model = fingerprint == model.fingerprint and dimension == model.dimension
    if same_model:
        checks.append(Check("modelo", "Modelo", True, f"{name} ({fingerprint[:19]}, dimensión {dimension})"))
    else:
        checks.append(Check("modelo", "Modelo", False,
                            f"el índice se creó con {name} ({fingerprint[:19]}, dimensión {dimension}) y el "
                            f"modelo en uso es {model.name} ({model.fingerprint[:19]}, dimensión "
                            f"{model.dimension}); elija el modelo del índice con KB_MODEL o --model"))

    missing = store.chunks_without_vector(dimension)
    if missing:
        checks.append(Check("vectores", "Vectores guardados en SQLite", False,
                            f"{len(missing)} de {chunks} fragmentos sin vector de dimensión {dimension} "
                            f"(p. ej. {missing[0][1]}); --repair los calcula de nuevo desde su texto guardado",
                            repairable=same_model))
    else:
        checks.append(Check("vectores", "Vectores guardados en SQLite", True,
                            f"cada fragmento tiene su vector de dimensión {dimension}"))

    checks.extend(_faiss_checks(directory, store, fingerprint, chunks, repairable=same_model))

    leftovers = _leftovers(directory)
    if leftovers:
        size = sum(p.stat().st_size for p in leftovers) / 1e6
        checks.append(Check("temporales", "Archivos temporales", True,
                            f"{len(leftovers)} de guardados interrumpidos ({size:.1f} MB) no afectan al índice; "
                            "--repair los borra"))
    else:
        checks.append(Check("temporales", "Archivos temporales", True, "ninguno"))

    orphans = store.orphans()
    if orphans:
        found = "; ".join(f"{ORPHANS.get(table, f'filas huérfanas en {table}')}: {n}" for table, n in orphans.items())
        checks.append(Check("etiquetas", "Etiquetas y referencias", False, f"{found}; --repair las elimina",
                            repairable=True))
    else:
        checks.append(Check("etiquetas", "Etiquetas y referencias", True,
                            "cada etiqueta es de un fragmento y cada fragmento de un documento existentes"))


def _faiss_checks(directory: Path, store: Store, fingerprint: str, chunks: int, *, repairable: bool) -> list[Check]:
    label = "Archivo de vectores (FAISS)"
    rebuild = "--repair lo reconstruye desde SQLite"
    try:
        vectors = VectorIndex.open(directory)
    except FileNotFoundError as error:
        return [Check("faiss", label, False, f"falta {Path(error.filename).name}; {rebuild}", repairable)]
    except (json.JSONDecodeError, KeyError, TypeError):
        return [Check("faiss", label, False, f"{directory / MANIFEST_FILE}: ilegible o incompleto; {rebuild}",
                      repairable)]
    except ValueError as error:  # the index bytes are not the ones the manifest describes
        return [Check("faiss", label, False, f"{error}; {rebuild}", repairable)]
    except RuntimeError:  # FAISS's own error for a truncated or foreign file
        return [Check("faiss", label, False, f"{directory / INDEX_FILE}: ilegible (truncado o dañado); {rebuild}",
                      repairable)]
    manifest = vectors.manifest
    if manifest.model_fingerprint != fingerprint:
        return [Check("faiss", label, False, f"{INDEX_FILE} es del modelo {manifest.model_name} "
                      f"({manifest.model_fingerprint[:19]}), no del de SQLite; {rebuild}", repairable)]
    checks = [Check("faiss", label, True, f"legible, del modelo {manifest.model_name}")]
    if len(vectors) == chunks:
        checks.append(Check("recuento", "Vectores = fragmentos", True, f"{chunks} vectores y {chunks} fragmentos"))
    else:
        checks.append(Check("recuento", "Vectores = fragmentos", False,
                            f"{INDEX_FILE} tiene {len(vectors)} vectores y SQLite {chunks} fragmentos; {rebuild}",
                            repairable))
    generation = store.generation()
    if vectors.generation == generation:
        checks.append(Check("generacion", "Generación de los vectores", True, f"{generation}, la de SQLite"))
    else:
        checks.append(Check("generacion", "Generación de los vectores", False,
                            f"{INDEX_FILE} es de la generación {vectors.generation} y SQLite está en la "
                            f"{generation} (una ingesta terminó sin guardar los vectores, o se copió un archivo "
                            f"antiguo); {rebuild}", repairable))
    return checks


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _leftovers(directory: Path) -> list[Path]:
    """Temporary files of vector saves that a crash cut short (see kb.files.write_atomic)."""
    return sorted(p for name in (INDEX_FILE, MANIFEST_FILE) for p in directory.glob(f".{name}.*.tmp"))


def repair(directory: str | Path, model: ModelInfo, embedder: Callable[[], Encoder]) -> Repair:
    """Fix what `diagnose` finds repairable, then check again. `embedder()` is
    called only when some chunk lost its vector. Nothing is done while a check
    that cannot be repaired fails (a damaged database, another model)."""
    directory = Path(directory)
    found = diagnose(directory, model)
    if any(not c.ok and not c.repairable for c in found):
        return Repair(found, [], found)
    leftovers = _leftovers(directory)  # (a repair beside a running ingest would take its files away)
    for path in leftovers:
        path.unlink(missing_ok=True)
    actions = [f"borrado {path.name}" for path in leftovers]
    if all(c.ok for c in found):
        return Repair(found, actions, diagnose(directory, model) if actions else found)
    store = Store(directory)  # opened normally: this also brings an old schema up to date
    try:
        missing = store.chunks_without_vector(model.dimension)
        # Computed before the transaction: the model must not run while holding the write lock.
        vectors = embedder().encode_passages([text for *_, text in missing]) if missing else None
        with store.atomic():
            orphans = store.orphans()
            if orphans:
                store.delete_orphans()
                actions.append(f"eliminadas: {'; '.join(f'{ORPHANS.get(t, t)}: {n}' for t, n in orphans.items())}")
            if vectors is not None:
                store.set_vectors([row for row, *_ in missing], vectors)
                actions.append(f"vectores calculados de nuevo desde el texto guardado: {len(missing)}")
            if not store.lexical_index_ok():
                store.rebuild_lexical_index()
                actions.append("índice léxico reconstruido")
            if missing or "chunks" in orphans:
                # Readers holding vectors in memory see the change and reload them.
                store.bump_generation()
        rebuilt = build_vectors(store, model, directory)
        rebuilt.save()
        actions.append(f"{INDEX_FILE} reconstruido desde SQLite ({len(rebuilt)} vectores)")
    finally:
        store.close()
    return Repair(found, actions, diagnose(directory, model))
