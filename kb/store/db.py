"""The SQLite store: documents, pages, chunks, their vectors and the lexical index.

SQLite is the single source of truth. Vectors are stored per chunk (float32
blobs), so the FAISS index is a cache that can always be rebuilt from here,
and one transaction per document keeps text, vectors and FTS rows in step.
Every SQL statement of the project lives in this module.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kb.errors import KBError
from kb.records import SEARCHED_KINDS, ChunkRow, DocumentMeta, DocumentRow, Filters
from kb.store import migrations

DB_FILE = "kb.sqlite"


class IndexMissingError(KBError):
    """There is no index where one was to be read."""


class SchemaError(KBError):
    """The index's schema is not the one this version of kb reads."""

    def __init__(self, message: str, *, newer: bool) -> None:
        super().__init__(message)
        self.newer = newer  # written by a later kb: nothing here can upgrade it


class Store:
    def __init__(self, directory: str | Path, *, mode: str = "write", timeout: float = 5.0) -> None:
        """Open the store in `directory`.

        `mode` "write" creates the directory and the file when missing and brings the
        schema up to date; "read" opens an existing index and writes nothing (a missing
        one raises IndexMissingError, an older or newer schema SchemaError); "as_found"
        opens an existing file exactly as it is, whatever it holds, for `kb doctor` to
        inspect. `timeout`: seconds to wait for another process's write to end."""
        if mode not in ("write", "read", "as_found"):
            raise ValueError(f"unknown mode {mode!r}")
        self.directory = Path(directory)
        self.path = self.directory / DB_FILE
        if mode == "write":
            self.directory.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise IndexMissingError(f"{self.directory}: no hay ningún índice en esta carpeta (falta {DB_FILE}); "
                                    "indexe documentos con `kb ingest CARPETA` o indique otra con --index.")
        # Only a writer may create the file (a reader's typo must not leave an empty index
        # behind), and a reader opens it read-only: SQLite then never checkpoints into it,
        # though in WAL mode it keeps its -wal and -shm lock files beside it.
        target = {"write": str(self.path), "read": f"{self.path.resolve().as_uri()}?mode=ro",
                  "as_found": f"{self.path.resolve().as_uri()}?mode=rw"}[mode]
        self.db = sqlite3.connect(target, uri=mode != "write", isolation_level=None, check_same_thread=False,
                                  timeout=timeout)
        # The connection is shared by threads (the app's sessions): a transaction,
        # read or write, belongs to one thread at a time.
        self._lock = threading.RLock()
        if mode == "as_found":
            return
        self.db.execute("PRAGMA foreign_keys = ON")
        if mode == "read":
            try:
                self._check_schema()
            except SchemaError:
                self.db.close()
                raise
            return
        # WAL lets searches read the last committed state while an ingest writes.
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def _check_schema(self) -> None:
        version = self.schema_version()
        if version > migrations.LATEST:
            raise SchemaError(f"{self.path}: lo creó una versión más nueva de kb (esquema {version}); actualice kb.",
                              newer=True)
        if version < migrations.LATEST:
            raise SchemaError(f"{self.path}: esquema antiguo ({version}); `kb ingest` o `kb doctor --repair` "
                              "lo actualizan.", newer=False)

    def _migrate(self) -> None:
        for number, step in migrations.pending(self.schema_version()):
            with self.atomic():
                migrations.apply(self.db, number, step)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; nested calls become savepoints."""
        with self._lock:
            yield from self._atomic()

    def _atomic(self) -> Iterator[None]:
        if self.db.in_transaction:
            self.db.execute("SAVEPOINT nested")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK TO nested")
                raise
            finally:
                self.db.execute("RELEASE nested")
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that must agree with each other (a search's lexical ranking, its
        chunk rows, the generation its vectors must match) see one committed state.
        Outside a transaction every statement sees the latest commit, so an ingest
        committing between two of them could delete a chunk the first one found;
        in WAL mode a read transaction keeps its snapshot without blocking the writer."""
        with self._lock:
            if self.db.in_transaction:  # inside a write: it already sees one state
                yield
                return
            self.db.execute("BEGIN")
            try:
                self.db.execute("SELECT count(*) FROM settings").fetchone()  # the snapshot starts at the first read
                yield
            finally:
                self.db.execute("COMMIT")  # read-only: nothing to keep or undo

    # settings ---------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO settings(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def delete_settings(self, prefix: str) -> None:
        self.db.execute("DELETE FROM settings WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    def generation(self) -> int:
        """Bumped by every change of chunks: readers holding vectors of an older
        generation reload them, and the FAISS cache records the one it matches."""
        return int(self.get_setting("generation") or 0)

    def bump_generation(self) -> int:
        """Call inside the transaction that changes chunks; returns the new generation."""
        generation = self.generation() + 1
        self.set_setting("generation", str(generation))
        return generation

    # documents --------------------------------------------------------------

    def document_by_hash(self, sha256: str) -> DocumentRow | None:
        rows = self._documents("WHERE d.sha256 = ?", (sha256,))
        return rows[0] if rows else None

    def document(self, doc_id: str) -> DocumentRow | None:
        rows = self._documents("WHERE d.doc_id = ?", (doc_id,))
        return rows[0] if rows else None

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is None

    def documents(self) -> list[DocumentRow]:
        return self._documents("", ())

    def unrecognised_hashes(self) -> set[str]:
        """The content hashes of PDFs stored before kb had OCR that needed it: a page
        without text or with junk, or passages of an unreadable OCR layer, and no page
        recognised yet. They are read again, once, when Tesseract is there."""
        sql = ("SELECT d.sha256 FROM documents d WHERE d.kind = 'pdf' "
               "AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.document = d.id AND p.ocr_confidence IS NOT NULL) "
               "AND (EXISTS (SELECT 1 FROM pages p WHERE p.document = d.id AND p.status IN ('empty', 'junk')) "
               "OR EXISTS (SELECT 1 FROM chunks c WHERE c.document = d.id AND c.kind = 'ocr-junk'))")
        return {row[0] for row in self.db.execute(sql)}

    def _documents(self, where: str, params: tuple) -> list[DocumentRow]:
        sql = f"""
            SELECT d.id, d.doc_id, d.path, d.sha256, d.kind, {_META_COLUMNS}, d.report,
                   (SELECT count(*) FROM pages p WHERE p.document = d.id),
                   (SELECT count(*) FROM chunks c WHERE c.document = d.id)
            FROM documents d {where} ORDER BY d.doc_id
        """
        return [DocumentRow(row[0], row[1], row[2], row[3], row[4], _meta(row[5:11]), row[11], row[12], row[13])
                for row in self.db.execute(sql, params)]

    def metas(self, doc_ids: Iterable[str]) -> dict[str, DocumentMeta]:
        """Metadata of the given documents, without the counts `documents()` computes."""
        doc_ids = list(dict.fromkeys(doc_ids))
        if not doc_ids:
            return {}
        sql = f"SELECT d.doc_id, {_META_COLUMNS} FROM documents d WHERE d.doc_id IN ({','.join('?' * len(doc_ids))})"
        return {row[0]: _meta(row[1:]) for row in self.db.execute(sql, doc_ids)}

    def move_document(self, doc_id: str, path: str) -> None:
        self.db.execute("UPDATE documents SET path = ? WHERE doc_id = ?", (path, doc_id))

    def delete_document(self, doc_id: str) -> None:
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def delete_chunks(self, doc_id: str) -> None:
        """A document's passages (with their tags and lexical terms); its pages stay."""
        self.db.execute("DELETE FROM chunks WHERE document = (SELECT id FROM documents WHERE doc_id = ?)", (doc_id,))

    def insert_document(self, doc_id: str, path: str, sha256: str, kind: str, meta: DocumentMeta,
                        report: str | None) -> int:
        cursor = self.db.execute(
            "INSERT INTO documents(doc_id, path, sha256, kind, title, authors, year, venue, doi, meta, report) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, path, sha256, kind, *_meta_values(meta), report),
        )
        return _row_id(cursor)

    def update_metadata(self, doc_id: str, meta: DocumentMeta) -> None:
        self.db.execute("UPDATE documents SET title = ?, authors = ?, year = ?, venue = ?, doi = ?, meta = ? "
                        "WHERE doc_id = ?", (*_meta_values(meta), doc_id))

    def insert_pages(self, document: int, pages: Iterable) -> None:
        self.db.executemany(
            "INSERT INTO pages(document, ordinal, number, label, raw, text, status, ocr_confidence) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(document, i, p.number, p.label, p.raw, p.text, p.status, p.ocr_confidence) for i, p in enumerate(pages)],
        )

    def insert_chunks(self, document: int, chunks: list, analyzed: list[str], vectors: np.ndarray) -> list[int]:
        ids = []
        for chunk, terms, vector in zip(chunks, analyzed, vectors):
            cursor = self.db.execute(
                'INSERT INTO chunks(chunk_id, document, ordinal, text, analyzed, page_start, page_end, start, "end", '
                "paragraph_start, paragraph_end, section, kind, vector) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chunk.chunk_id, document, chunk.ordinal, chunk.text, terms, chunk.page_start, chunk.page_end,
                 chunk.start, chunk.end, chunk.paragraph_start, chunk.paragraph_end, chunk.section, chunk.kind,
                 np.asarray(vector, np.float32).tobytes()),
            )
            ids.append(_row_id(cursor))
        return ids

    # chunks -------------------------------------------------------------------

    _CHUNK_COLUMNS = ("c.id, c.chunk_id, d.doc_id, c.ordinal, c.text, c.page_start, c.page_end, "
                      'c.paragraph_start, c.paragraph_end, c.section, c.start, c."end", c.kind, '
                      # Whether any page of the passage was recognised by OCR (kb.records.ChunkRow.ocr).
                      "EXISTS (SELECT 1 FROM pages p WHERE p.document = c.document AND p.ocr_confidence IS NOT NULL "
                      "AND p.number BETWEEN c.page_start AND c.page_end)")

    def chunks(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = (f"SELECT {self._CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document "
               f"WHERE c.id IN ({marks})")
        return {row[0]: ChunkRow(*row[:-1], ocr=bool(row[-1])) for row in self.db.execute(sql, ids)}  # type: ignore[misc]

    def pages(self, doc_id: str) -> list:
        from kb.records import CleanPage

        sql = ("SELECT p.number, p.label, p.raw, p.text, p.status, p.ocr_confidence FROM pages p "
               "JOIN documents d ON d.id = p.document WHERE d.doc_id = ? ORDER BY p.ordinal")
        return [CleanPage(*row) for row in self.db.execute(sql, (doc_id,))]

    def chunk_ids_of(self, doc_id: str) -> list[int]:
        sql = "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document WHERE d.doc_id = ?"
        return [int(r[0]) for r in self.db.execute(sql, (doc_id,))]

    def vectors_of(self, doc_id: str, dimension: int) -> dict[str, np.ndarray]:
        """Stored vectors of a document's chunks, by chunk id."""
        sql = "SELECT c.chunk_id, c.vector FROM chunks c JOIN documents d ON d.id = c.document WHERE d.doc_id = ?"
        return {row[0]: np.frombuffer(row[1], np.float32, dimension) for row in self.db.execute(sql, (doc_id,))}

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def all_vectors(self, dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every chunk that has a vector of this size, to rebuild the vector index."""
        rows = self.db.execute("SELECT id, vector FROM chunks WHERE length(vector) = ? ORDER BY id",
                               (4 * dimension,)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
        return ids, vectors

    def analyzed_texts(self) -> Iterator[tuple[int, str]]:
        """(row id, analysed text) of every chunk in id order, streamed (kb.lexical builds from it)."""
        yield from self.db.execute("SELECT id, analyzed FROM chunks ORDER BY id")

    def lexical(self, match: str, limit: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(chunk row id, score) for an FTS5 MATCH expression, best first (score = -bm25)."""
        where, params = _filter_sql(filters)
        sql = ("SELECT f.rowid, -bm25(chunks_fts) FROM chunks_fts f "
               "JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document "
               f"WHERE chunks_fts MATCH ?{where} ORDER BY bm25(chunks_fts) LIMIT ?")
        return [(int(r[0]), float(r[1])) for r in self.db.execute(sql, [match, *params, limit])]

    def term_count(self, prefix: str) -> int:
        """Passages with a lexical term starting with `prefix` (a stem)."""
        match = '"' + prefix.replace('"', '') + '"*'
        return int(self.db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,)).fetchone()[0])

    def chunk_ids(self, filters: Filters | None = None) -> list[int]:
        where, params = _filter_sql(filters)
        sql = f"SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document WHERE 1{where}"
        return [int(r[0]) for r in self.db.execute(sql, params)]

    # concept tags ---------------------------------------------------------------

    def chunk_texts(self, doc_id: str, kinds: tuple[str, ...] = SEARCHED_KINDS) -> list[tuple[int, str]]:
        """(row id, text) of a document's chunks of these kinds, in reading order."""
        sql = ("SELECT c.id, c.text FROM chunks c JOIN documents d ON d.id = c.document "
               f"WHERE d.doc_id = ? AND c.kind IN ({','.join('?' * len(kinds))}) ORDER BY c.ordinal")
        return [(int(r[0]), r[1]) for r in self.db.execute(sql, (doc_id, *kinds))]

    def not_searched(self, ids: Iterable[int]) -> set[int]:
        """Which of these chunks are not body text (a reference list, an index...)."""
        ids = list(ids)
        if not ids:
            return set()
        sql = (f"SELECT id FROM chunks WHERE id IN ({','.join('?' * len(ids))}) "
               f"AND kind NOT IN ({','.join('?' * len(SEARCHED_KINDS))})")
        return {int(r[0]) for r in self.db.execute(sql, (*ids, *SEARCHED_KINDS))}

    def replace_tags(self, tags_by_chunk: dict[int, list]) -> None:
        ids = list(tags_by_chunk)
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            self.db.execute(f"DELETE FROM chunk_tags WHERE chunk IN ({','.join('?' * len(batch))})", batch)
        self.db.executemany(
            'INSERT INTO chunk_tags(chunk, concept, kind, start, "end", matched) VALUES (?, ?, ?, ?, ?, ?)',
            [(chunk, t.concept, t.kind, t.start, t.end, t.matched) for chunk, tags in tags_by_chunk.items()
             for t in tags],
        )

    def tags_of(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """Concept ids of each chunk, the most mentioned first."""
        ids = list(ids)
        if not ids:
            return {}
        sql = (f"SELECT chunk, concept, count(*) AS n FROM chunk_tags WHERE chunk IN ({','.join('?' * len(ids))}) "
               "GROUP BY chunk, concept ORDER BY chunk, n DESC, concept")
        out: dict[int, list[str]] = {i: [] for i in ids}
        for chunk, concept, _ in self.db.execute(sql, ids):
            out[int(chunk)].append(concept)
        return out

    def evidence(self, chunk: int) -> list[tuple[str, str, int, int, str]]:
        """(concept, kind, start, end, matched) of one chunk's tags, in text order."""
        sql = 'SELECT concept, kind, start, "end", matched FROM chunk_tags WHERE chunk = ? ORDER BY start, concept'
        return [tuple(r) for r in self.db.execute(sql, (chunk,))]

    def concept_counts(self) -> dict[str, dict[str, int]]:
        """{concept: {doc_id: number of passages tagged}}."""
        sql = ("SELECT t.concept, d.doc_id, count(DISTINCT t.chunk) FROM chunk_tags t "
               "JOIN chunks c ON c.id = t.chunk JOIN documents d ON d.id = c.document "
               "GROUP BY t.concept, d.doc_id ORDER BY t.concept, d.doc_id")
        out: dict[str, dict[str, int]] = {}
        for concept, doc_id, n in self.db.execute(sql):
            out.setdefault(concept, {})[doc_id] = int(n)
        return out

    def best_passages(self, concept: str, limit: int) -> list[int]:
        """Chunks that mention `concept` most often (ties: document, then reading order)."""
        sql = ("SELECT t.chunk FROM chunk_tags t JOIN chunks c ON c.id = t.chunk JOIN documents d ON d.id = c.document "
               "WHERE t.concept = ? GROUP BY t.chunk ORDER BY count(*) DESC, d.doc_id, c.ordinal LIMIT ?")
        return [int(r[0]) for r in self.db.execute(sql, (concept, limit))]

    def reanalyze(self, analyze) -> None:
        """Recompute every chunk's analysed text and rebuild the lexical index from it."""
        rows = self.db.execute("SELECT id, text FROM chunks").fetchall()
        self.db.executemany("UPDATE chunks SET analyzed = ? WHERE id = ?", [(analyze(t), i) for i, t in rows])
        self.db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")

    # health (kb doctor) -----------------------------------------------------------

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def integrity_problems(self) -> list[str]:
        """SQLite's own check of pages, b-trees and indexes; empty when sound."""
        rows = [r[0] for r in self.db.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    def lexical_index_ok(self) -> bool:
        """Whether the FTS5 index holds exactly the analysed text of every chunk."""
        try:
            self.db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as error:
            if "malformed" not in str(error):  # FTS5's way of saying "differs from its content"
                raise
            return False
        return True

    def rebuild_lexical_index(self) -> None:
        self.db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")

    def chunks_without_vector(self, dimension: int) -> list[tuple[int, str, str]]:
        """(row id, chunk id, text) of chunks whose vector is missing or of another size."""
        sql = "SELECT id, chunk_id, text FROM chunks WHERE vector IS NULL OR length(vector) != ? ORDER BY id"
        return [(int(r[0]), r[1], r[2]) for r in self.db.execute(sql, (4 * dimension,))]

    def set_vectors(self, ids: list[int], vectors: np.ndarray) -> None:
        self.db.executemany("UPDATE chunks SET vector = ? WHERE id = ?",
                            [(np.asarray(v, np.float32).tobytes(), i) for i, v in zip(ids, vectors)])

    def orphans(self) -> dict[str, int]:
        """Rows pointing to a document or chunk that no longer exists, by table (a
        connection without foreign keys, or an old bug, can leave them behind)."""
        out: dict[str, int] = {}
        for table, *_ in self.db.execute("PRAGMA foreign_key_check"):
            out[table] = out.get(table, 0) + 1
        return out

    def delete_orphans(self) -> None:
        self.db.execute("DELETE FROM pages WHERE document NOT IN (SELECT id FROM documents)")
        self.db.execute("DELETE FROM chunks WHERE document NOT IN (SELECT id FROM documents)")
        self.db.execute("DELETE FROM chunk_tags WHERE chunk NOT IN (SELECT id FROM chunks)")


_META_COLUMNS = "d.title, d.authors, d.year, d.venue, d.doi, d.meta"


def _meta(row: tuple) -> DocumentMeta:
    title, authors, year, venue, doi, extra = row
    return DocumentMeta(title=title, authors=tuple(json.loads(authors)), year=year, venue=venue, doi=doi,
                        **json.loads(extra))


def _meta_values(meta: DocumentMeta) -> tuple:
    """Column values for _META_COLUMNS; fields without a column go into the JSON `meta`."""
    core = {"title", "authors", "year", "venue", "doi"}
    extra = {k: v for k, v in meta.__dict__.items() if k not in core and v is not None}
    return (meta.title, json.dumps(list(meta.authors), ensure_ascii=False), meta.year, meta.venue, meta.doi,
            json.dumps(extra, ensure_ascii=False))


def _filter_sql(filters: Filters | None) -> tuple[str, list]:
    """AND-clauses over documents `d` for the filters that are set."""
    if filters is None:
        return "", []
    clauses: list[str] = []
    params: list[str | int] = []
    if filters.doc_ids:
        clauses.append(f"d.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
        params += list(filters.doc_ids)
    if filters.years:
        clauses.append(f"d.year IN ({','.join('?' * len(filters.years))})")
        params += list(filters.years)
    for author in filters.authors:
        clauses.append("lower(d.authors) LIKE ?")
        params.append(f"%{author.lower()}%")
    for tag in filters.tags:
        clauses.append("c.id IN (SELECT chunk FROM chunk_tags WHERE concept = ?)")
        params.append(tag)
    return "".join(f" AND {c}" for c in clauses), params


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id SQLite gave the row an INSERT just wrote (always set after one)."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid
