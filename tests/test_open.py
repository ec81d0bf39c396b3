"""Opening an index: readers never create or write anything, writers bring it up to
date with named migration steps, and first use indexes the bundled corpus once."""

import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from ingest.bundled import ensure_bundled_corpus
from kb.ask.search import search
from kb.cli import cli
from kb.concepts.report import main_concepts
from kb.concepts.taxonomy import load_taxonomy
from kb.index import KnowledgeBase, open_for_reading
from kb.store import migrations
from kb.store.db import IndexMissingError, SchemaError, Store
from kb.store.vectors import INDEX_FILE
from tests.fakes import FAKE_MODEL, FakeEmbedder


def _files(directory):
    """Every file of the directory with its size and modification time, less SQLite's
    WAL lock files, which any connection to a WAL database may create."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.iterdir())
            if not p.name.endswith(("-wal", "-shm"))}


@pytest.fixture
def copy(indexed, tmp_path):
    """A closed copy of the module's indexed bundled corpus, safe to damage."""
    target = tmp_path / "index"
    shutil.copytree(indexed.directory, target)
    return target


def test_commands_on_a_mistyped_index_say_so_and_create_nothing(tmp_path):
    typo = tmp_path / "indice-que-no-existe"
    for command in (["docs"], ["show", "saravi-1998-distritos-mexico"]):
        result = CliRunner().invoke(cli, [*command, "--index", str(typo)])
        assert result.exit_code == 1
        assert f"{typo}: no hay ningún índice en esta carpeta" in result.output
        assert "Traceback" not in result.output
    assert not typo.exists()
    with pytest.raises(IndexMissingError):
        KnowledgeBase.read(typo, FAKE_MODEL)
    assert not typo.exists()


def test_reading_writes_nothing_even_when_the_vector_cache_is_gone(copy):
    (copy / INDEX_FILE).unlink()
    before = _files(copy)
    kb = KnowledgeBase.read(copy, FAKE_MODEL)
    try:
        hits = search(kb, FakeEmbedder(), "confianza y cooperación entre empresas", k=3)
        assert hits and hits[0].citation
    finally:
        kb.close()
    assert _files(copy) == before  # vectors rebuilt in memory only; no file created or touched


def test_a_reader_cannot_write_by_mistake(copy):
    kb = KnowledgeBase.read(copy, FAKE_MODEL)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            kb.store.set_setting("generation", "99")
    finally:
        kb.close()


def test_a_new_index_records_each_named_migration_step(tmp_path):
    store = Store(tmp_path / "nuevo")
    try:
        assert store.schema_version() == migrations.LATEST
        rows = store.db.execute("SELECT number, name FROM migrations ORDER BY number").fetchall()
    finally:
        store.close()
    assert rows == [(n, step.name) for n, step in enumerate(migrations.MIGRATIONS, start=1)]


def test_an_old_schema_is_upgraded_by_a_writer_and_refused_by_a_plain_reader(tmp_path, monkeypatch):
    directory = tmp_path / "viejo"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    monkeypatch.setattr(migrations, "LATEST", 1)
    Store(directory).close()
    monkeypatch.undo()
    with pytest.raises(SchemaError, match="esquema antiguo"):
        Store(directory, mode="read")
    said = []
    kb = open_for_reading(directory, FAKE_MODEL, notify=said.append)
    try:
        assert kb.store.schema_version() == migrations.LATEST
        assert not kb.writable
    finally:
        kb.close()
    assert said == ["Actualizando el índice a esta versión de kb (una sola vez)…"]


def test_a_failing_step_leaves_the_schema_as_it_was(tmp_path, monkeypatch):
    directory = tmp_path / "idx"
    Store(directory).close()
    broken = migrations.Migration("roto", ("CREATE TABLE extra (x INTEGER)", "CREATE TABLE extra (y INTEGER)"))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    with pytest.raises(sqlite3.OperationalError):
        Store(directory)
    monkeypatch.undo()
    store = Store(directory, mode="read")
    try:
        tables = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert store.schema_version() == migrations.LATEST and "extra" not in tables
    finally:
        store.close()


def test_a_changed_taxonomy_is_applied_once_then_read_as_it_is(copy):
    (copy / "concepts.toml").write_text(
        '[[concept]]\nid = "cooperacion-nueva"\nlabel = "ayuda mutua"\nframework = "distrito industrial"\n',
        encoding="utf-8")
    said = []
    kb = open_for_reading(copy, FAKE_MODEL, notify=said.append)
    try:
        assert kb.pending_upgrades() == []
        assert kb.store.get_setting("taxonomy") == load_taxonomy(copy).fingerprint
    finally:
        kb.close()
    assert len(said) == 1
    before = _files(copy)
    open_for_reading(copy, FAKE_MODEL, notify=said.append).close()
    assert len(said) == 1 and _files(copy) == before


def test_first_use_indexes_the_bundled_corpus_once(tmp_path):
    directory = tmp_path / "primera-vez"
    said = []
    summary = ensure_bundled_corpus(directory, FAKE_MODEL, FakeEmbedder(), notify=said.append)
    assert summary is not None and summary.count("indexed") == 5
    assert said == ["Índice vacío: indexando el corpus incluido (una sola vez)…"]
    assert ensure_bundled_corpus(directory, FAKE_MODEL, FakeEmbedder(), notify=said.append) is None
    assert len(said) == 1


def test_main_concepts_most_tagged_first_ties_by_id():
    counts = {"porter": {"a": 3, "b": 1}, "becattini": {"a": 3}, "iap": {"a": 5}, "capital-social": {"a": 1}}
    assert main_concepts(counts, 3) == {"a": [("iap", 5), ("becattini", 3), ("porter", 3)], "b": [("porter", 1)]}
