"""`kb doctor`: each kind of damage is reported as found, and --repair fixes what SQLite can rebuild."""

import json
import shutil
import sqlite3
from dataclasses import replace

import pytest
from click.testing import CliRunner

from ingest.pipeline import ingest
from kb import config
from kb.ask.search import search
from kb.cli import cli
from kb.index import KnowledgeBase
from kb.store import doctor
from tests.fakes import DIMENSION, FAKE_MODEL, FakeEmbedder

QUERY = "confianza y cooperación entre empresas del distrito"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An index of three bundled documents, closed, and what a dense search finds in it."""
    base = tmp_path_factory.mktemp("doctor")
    corpus = base / "corpus"
    shutil.copytree(config.bundled_corpus_dir(), corpus)
    kb = KnowledgeBase(base / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), sorted(corpus.glob("*.txt"))[:3])
    found = [h.chunk.chunk_id for h in search(kb, FakeEmbedder(), QUERY, k=5, mode="dense")]
    kb.close()
    return base, found


@pytest.fixture
def index(built, tmp_path):
    shutil.copytree(built[0] / "index", tmp_path / "index")
    return tmp_path / "index"


def checks_by_name(directory, model=FAKE_MODEL):
    return {c.name: c for c in doctor.diagnose(directory, model)}


def failed(directory):
    return {name: c.detail for name, c in checks_by_name(directory).items() if not c.ok}


def dense_hits(directory):
    kb = KnowledgeBase(directory, FAKE_MODEL)
    try:
        return [h.chunk.chunk_id for h in search(kb, FakeEmbedder(), QUERY, k=5, mode="dense")]
    finally:
        kb.close()


def repair(directory):
    return doctor.repair(directory, FAKE_MODEL, FakeEmbedder)


@pytest.fixture
def fake_model(monkeypatch):
    """The CLI resolves the fake model and embedder instead of the real ones."""
    import kb.model.embedder
    import kb.model.resolve

    monkeypatch.setattr(kb.model.resolve, "resolve_model", lambda *_: FAKE_MODEL)
    monkeypatch.setattr(kb.model.embedder, "LazyEmbedder", lambda info, **_: FakeEmbedder())


def test_a_healthy_index_passes_every_check(index, fake_model):
    checks = doctor.diagnose(index, FAKE_MODEL)
    assert [c.name for c in checks] == ["sqlite", "fts", "modelo", "vectores", "faiss", "recuento", "generacion",
                                        "temporales", "etiquetas"]
    assert all(c.ok for c in checks), checks
    result = CliRunner().invoke(cli, ["doctor", "--index", str(index)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Índice: {index}" and lines[-1] == "Índice sano."
    assert all(line.startswith("ok ") for line in lines[1:-1]) and len(lines) == 11


def test_diagnosing_changes_nothing_and_reports_what_opening_would_silently_fix(index, built):
    (index / "vectors.faiss").unlink()
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    assert failed(index) == {"faiss": "falta vectors.faiss; --repair lo reconstruye desde SQLite"}
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before
    assert dense_hits(index) == built[1]  # opening rebuilt it from SQLite
    assert failed(index) == {}


@pytest.mark.parametrize("damage, message", [
    ("delete", "falta vectors.faiss"),
    ("truncate", "vectors.faiss: no es el archivo que describe vectors.json (truncado, dañado o de otro guardado)"),
    ("garbage", "vectors.faiss: no es el archivo que describe vectors.json (truncado, dañado o de otro guardado)"),
    ("garbage-old-manifest", "vectors.faiss: ilegible (truncado o dañado)"),
])
def test_a_broken_vector_file_is_reported_and_repaired(index, built, fake_model, damage, message):
    path = index / "vectors.faiss"
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:5000])
    else:
        path.write_bytes(b"no es un indice FAISS " * 100)
    if damage == "garbage-old-manifest":  # written by a kb that did not record the checksum
        manifest = json.loads((index / "vectors.json").read_text())
        del manifest["sha256"]
        (index / "vectors.json").write_text(json.dumps(manifest))
    assert list(failed(index)) == ["faiss"]
    assert message in failed(index)["faiss"]

    result = CliRunner().invoke(cli, ["doctor", "--index", str(index)])
    assert result.exit_code == 1
    assert "fallo  Archivo de vectores (FAISS): " in result.output and message in result.output
    assert "Use `kb doctor --repair`" in result.output

    result = CliRunner().invoke(cli, ["doctor", "--index", str(index), "--repair"])
    assert result.exit_code == 0, result.output
    assert "  - vectors.faiss reconstruido desde SQLite" in result.output
    assert result.output.rstrip().endswith("Índice sano.")
    assert failed(index) == {}
    assert dense_hits(index) == built[1]


def test_a_vector_file_of_an_older_generation_is_reported_and_repaired(index, built, tmp_path):
    old = {name: (index / name).read_bytes() for name in ("vectors.faiss", "vectors.json")}
    kb = KnowledgeBase(index, FAKE_MODEL)
    extra = sorted(config.bundled_corpus_dir().glob("*.txt"))[3]
    ingest(kb, FakeEmbedder(), [shutil.copy(extra, tmp_path)])
    added = kb.store.chunk_ids_of("pillihuaman-2025-villa-el-salvador")
    chunks = kb.store.chunk_count()
    kb.close()
    for name, data in old.items():  # a backup restored over the cache
        (index / name).write_bytes(data)
    problems = failed(index)
    assert problems["generacion"].startswith("vectors.faiss es de la generación 3 y SQLite está en la 4")
    assert problems["recuento"].startswith(f"vectors.faiss tiene {chunks - len(added)} vectores y SQLite {chunks}")
    assert repair(index).actions == [f"vectors.faiss reconstruido desde SQLite ({chunks} vectores)"]
    assert failed(index) == {}
    kb = KnowledgeBase(index, FAKE_MODEL)
    try:
        hits = search(kb, FakeEmbedder(), "Parque Industrial de Villa El Salvador", k=3, mode="dense")
        assert hits[0].chunk.doc_id == "pillihuaman-2025-villa-el-salvador"
    finally:
        kb.close()


def test_a_chunk_without_its_vector_is_embedded_again_from_its_stored_text(index, built, fake_model):
    chunk_id = built[1][0]
    with sqlite3.connect(index / "kb.sqlite") as db:
        db.execute("UPDATE chunks SET vector = NULL WHERE chunk_id = ?", (chunk_id,))
        chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    db.close()
    assert failed(index) == {"vectores": f"1 de {chunks} fragmentos sin vector de dimensión {DIMENSION} (p. ej. {chunk_id}); "
                                         "--repair los calcula de nuevo desde su texto guardado"}
    result = CliRunner().invoke(cli, ["doctor", "--index", str(index), "--repair", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and [c["name"] for c in data["found"] if not c["ok"]] == ["vectores"]
    assert data["actions"][0] == "vectores calculados de nuevo desde el texto guardado: 1"
    assert dense_hits(index) == built[1]  # the same vector as before: the passage is found again first


def test_a_lexical_index_out_of_step_is_rebuilt(index):
    with sqlite3.connect(index / "kb.sqlite") as db:  # no trigger runs on UPDATE: FTS keeps the old terms
        db.execute("UPDATE chunks SET analyzed = 'palabrainexistente' WHERE id = (SELECT min(id) FROM chunks)")
        db.execute("UPDATE chunks SET analyzed = analyzed || ' otra' WHERE id = (SELECT max(id) FROM chunks)")
    db.close()
    assert list(failed(index)) == ["fts"]
    assert repair(index).actions[0] == "índice léxico reconstruido"
    assert failed(index) == {}
    kb = KnowledgeBase(index, FAKE_MODEL)
    try:
        assert kb.store.lexical("palabrainexistente", 5) != []
    finally:
        kb.close()


def test_tags_of_missing_chunks_are_reported_and_removed(index):
    with sqlite3.connect(index / "kb.sqlite") as db:  # foreign keys are off on a plain connection
        db.execute("""INSERT INTO chunk_tags(chunk, concept, kind, start, "end", matched)
                      VALUES (999999, 'mesoespacio', 'exact', 0, 5, 'meso')""")
    db.close()
    assert failed(index) == {"etiquetas": "etiquetas de fragmentos inexistentes: 1; --repair las elimina"}
    repair(index)
    assert failed(index) == {}


def test_temporary_files_of_an_interrupted_save_are_reported_and_removed(index):
    (index / ".vectors.faiss.x1y2.tmp").write_bytes(b"\0" * 2_000_000)
    checks = checks_by_name(index)
    assert all(c.ok for c in checks.values())
    assert checks["temporales"].detail == ("1 de guardados interrumpidos (2.0 MB) no afectan al índice; "
                                           "--repair los borra")
    assert repair(index).actions == ["borrado .vectors.faiss.x1y2.tmp"]
    assert checks_by_name(index)["temporales"].detail == "ninguno"


def test_a_missing_vector_without_a_current_cache_is_one_clear_error(index, fake_model):
    with sqlite3.connect(index / "kb.sqlite") as db:
        db.execute("UPDATE chunks SET vector = NULL WHERE id = 1")
    db.close()
    (index / "vectors.faiss").unlink()  # opening must rebuild, and cannot
    result = CliRunner().invoke(cli, ["search", "mipymes", "--index", str(index)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {index}: 1 fragmentos no tienen su vector guardado; ejecute "
                             "`kb doctor --repair`, que los calcula de nuevo desde su texto.\n")


def test_another_model_is_reported_and_not_repaired(index):
    other = replace(FAKE_MODEL, name="otro-modelo", fingerprint="sha256:" + "0" * 64)
    checks = {c.name: c for c in doctor.diagnose(index, other)}
    assert not checks["modelo"].ok and not checks["modelo"].repairable
    assert "el índice se creó con fake-hash" in checks["modelo"].detail and "otro-modelo" in checks["modelo"].detail
    (index / "vectors.faiss").unlink()
    result = doctor.repair(index, other, FakeEmbedder)
    assert result.actions == [] and not (index / "vectors.faiss").exists()


@pytest.mark.parametrize("damage", ["header", "pages", "empty"])
def test_a_damaged_database_is_one_clear_line_per_check_without_traceback(index, fake_model, damage):
    path = index / "kb.sqlite"
    data = bytearray(path.read_bytes())
    if damage == "header":
        data[:100] = b"x" * 100
    elif damage == "pages":
        for start in range(4096 * 2, len(data) - 4096, 4096 * 3):
            data[start + 8:start + 600] = bytes(range(256)) * 2 + bytes(80)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    for args in (["doctor"], ["doctor", "--repair"]):
        result = CliRunner().invoke(cli, [*args, "--index", str(index)])
        assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None)))
        lines = result.output.splitlines()
        assert lines[1].startswith(f"fallo  Base de datos SQLite: {path}: ")
        if damage == "empty":
            assert lines[1].endswith("no es un índice de kb (no tiene sus tablas)")
        else:
            assert lines[1].endswith("no se puede reparar: restaure una copia de la carpeta o vuelva a indexar "
                                     "los documentos en una carpeta nueva")
        assert lines[-1] == "Hay fallos que --repair no puede arreglar (vea cada línea)."
        assert "Traceback" not in result.output


def test_missing_index_is_reported(tmp_path, fake_model):
    result = CliRunner().invoke(cli, ["doctor", "--index", str(tmp_path / "nada"), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert not data["ok"] and data["checks"][0]["detail"].endswith("en esta carpeta no hay ningún índice")
    assert not (tmp_path / "nada").exists()  # checking does not create it


def test_an_index_locked_by_a_running_write_is_not_called_damaged(index, monkeypatch):
    monkeypatch.setattr(doctor, "LOCK_TIMEOUT", 0.1)
    writer = sqlite3.connect(index / "kb.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        checks = doctor.diagnose(index, FAKE_MODEL)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert [c.name for c in checks] == ["sqlite"]
    check = checks[0]
    assert not check.ok and not check.repairable
    assert check.detail.endswith("otra escritura lo tiene bloqueado (¿una ingesta en marcha?); vuelva a ejecutar "
                                 "kb doctor cuando termine")
