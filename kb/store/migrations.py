"""The schema of `kb.sqlite`, built by named steps applied in order.

Each step is a list of single statements (no splitter guesses where a trigger
ends), applied in one transaction together with its row in `migrations` and the
new `PRAGMA user_version`: a crash leaves the schema before or after the step.
Steps are only ever appended; an index records which ones it has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration("documents-pages-chunks", (
        """CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            doc_id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            year INTEGER,
            venue TEXT,
            doi TEXT,
            meta TEXT NOT NULL DEFAULT '{}',
            report TEXT,
            ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )""",
        "CREATE INDEX documents_sha256 ON documents(sha256)",
        """CREATE TABLE pages (
            document INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            number INTEGER,
            label TEXT,
            raw TEXT NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (document, ordinal)
        )""",
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            chunk_id TEXT NOT NULL UNIQUE,
            document INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            analyzed TEXT NOT NULL,
            page_start INTEGER,
            page_end INTEGER,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            paragraph_start INTEGER NOT NULL,
            paragraph_end INTEGER NOT NULL,
            section TEXT,
            vector BLOB
        )""",
        "CREATE INDEX chunks_document ON chunks(document)",
        # External-content FTS5 over the analysed text; tokens are already stems
        # with accents folded, so the tokenizer must not fold again (ñ survives).
        """CREATE VIRTUAL TABLE chunks_fts USING fts5(
            analyzed, content='chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 0'
        )""",
        """CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts(rowid, analyzed) VALUES (new.id, new.analyzed);
        END""",
        """CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, analyzed) VALUES ('delete', old.id, old.analyzed);
        END""",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )),
    # Concept tags with their evidence: offsets into the chunk's text.
    Migration("chunk-tags", (
        """CREATE TABLE chunk_tags (
            chunk INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            concept TEXT NOT NULL,
            kind TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            matched TEXT NOT NULL
        )""",
        "CREATE INDEX chunk_tags_concept ON chunk_tags(concept, chunk)",
        "CREATE INDEX chunk_tags_chunk ON chunk_tags(chunk)",
    )),
    # What each passage is (kb.records.PASSAGE_KINDS); older chunks count as body
    # text until the next ingest chunks them again and classifies them.
    Migration("chunk-kinds", (
        "ALTER TABLE chunks ADD COLUMN kind TEXT NOT NULL DEFAULT 'body'",
    )),
    # A page's text recognised from its image: Tesseract's mean word confidence;
    # NULL for a text layer (every page stored before OCR was added).
    Migration("page-ocr", (
        "ALTER TABLE pages ADD COLUMN ocr_confidence REAL",
    )),
)

# Which steps an index has had, by name, beside the schema number SQLite keeps.
_LEDGER = """CREATE TABLE IF NOT EXISTS migrations (
    number INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)"""

LATEST = len(MIGRATIONS)


def pending(version: int) -> list[tuple[int, Migration]]:
    """The steps an index at schema `version` still needs, numbered from 1."""
    return [(number, step) for number, step in enumerate(MIGRATIONS, start=1) if number > version]


def apply(db, number: int, step: Migration) -> None:
    """Run one step inside the caller's transaction and record it there."""
    db.execute(_LEDGER)
    for statement in step.statements:
        db.execute(statement)
    db.execute("INSERT OR REPLACE INTO migrations(number, name) VALUES (?, ?)", (number, step.name))
    db.execute(f"PRAGMA user_version = {int(number)}")
