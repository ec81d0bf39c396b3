"""kill -9 an ingest at many moments, and search while one runs: the index is always consistent.

An ingest commits one document per transaction (its old version out, the new one
in), so after a kill the library must equal the state before the batch, after
it, or after some prefix of its documents: never half a document. The FAISS
file is saved only when the batch ends (ingest/pipeline.py today), so after most
kills it lags behind SQLite; the doctor reports that as found, and opening the
index rebuilds it from SQLite, after which every check passes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from kb import config
from kb.ask.search import search
from kb.index import KnowledgeBase
from kb.store import doctor
from tests.fakes import FAKE_MODEL, FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
# The only checks a kill may fail before the index is opened again: the FAISS
# cache lagging behind SQLite, which opening rebuilds. SQLite itself, its lexical
# index, the stored vectors and the tags must always pass.
STALE_CACHE = {"faiss", "recuento", "generacion"}
PHASES = ("prepare", "embed", "sql", "commit", "save")
# How long after entering a phase a targeted kill may wait: about that phase's
# length in the child (tests/crash_child.py), so the kill lands inside it.
PHASE_WINDOW = {"prepare": 0.15, "embed": 0.15, "sql": 0.15, "commit": 0.02, "save": 0.12}
QUERIES = ["productividad de las mipymes en Chile", "asociatividad empresarial en Medellín"]


def library(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    """What a user can find: every document and the text of its passages, in order."""
    return {d.doc_id: tuple(text for _, text in kb.store.chunk_texts(d.doc_id)) for d in kb.store.documents()}


def texts_by_chunk(kb: KnowledgeBase) -> dict[str, str]:
    return {row.chunk_id: row.text for row in kb.store.chunks(kb.store.chunk_ids()).values()}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """An index holding two documents, a batch of four files (one of them a changed
    version of an indexed document), and every state the batch may leave behind:
    before it, and after each of its documents in order."""
    base = tmp_path_factory.mktemp("crash")
    corpus = base / "corpus"
    shutil.copytree(config.bundled_corpus_dir(), corpus)
    files = sorted(corpus.glob("*.txt"))
    kb = KnowledgeBase(base / "before", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), files[:2])
    kb.close()
    changed = files[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nUn párrafo añadido al final.", encoding="utf-8")
    batch = [files[2], changed, *files[3:]]

    shutil.copytree(base / "before", base / "reference")
    kb = KnowledgeBase(base / "reference", FAKE_MODEL)
    states = [library(kb)]
    texts = texts_by_chunk(kb)
    for path in batch:
        ingest(kb, FakeEmbedder(), [path])
        states.append(library(kb))
        texts |= texts_by_chunk(kb)
    kb.close()
    assert len({tuple(sorted(s.items())) for s in states}) == len(batch) + 1  # each document changes the library
    return base, batch, states, texts


def start_child(index: Path, batch: list[Path]) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-m", "tests.crash_child", str(index), *map(str, batch)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout.readline().strip() == "start"
    return child


def ingest_seconds(index: Path, batch: list[Path]) -> float:
    """How long the child's whole ingest takes on this machine, from "start" to "done"."""
    child = start_child(index, batch)
    began = time.monotonic()
    lines = [line.strip() for line in child.stdout]
    elapsed = time.monotonic() - began
    child.stdout.close()
    assert child.wait() == 0 and lines[-1] == "done", lines[-3:]
    return elapsed


def kill_once(index: Path, batch: list[Path], rng: random.Random, target: str | None,
              span: float) -> tuple[bool, str]:
    """Run the ingest and SIGKILL it: `span`-uniformly after it starts, or inside
    phase `target`. Returns whether the kill interrupted it, and the phase it hit."""
    child = start_child(index, batch)
    phases = ["start"]
    if target is None:
        time.sleep(rng.uniform(0, span))
    else:
        occurrence = rng.randrange(4 if target != "save" else 2)
        seen = 0
        for line in child.stdout:
            phases.append(line.strip())
            if phases[-1] == target:
                if seen == occurrence:
                    break
                seen += 1
        time.sleep(rng.uniform(0, PHASE_WINDOW[target]))
    child.send_signal(signal.SIGKILL)
    code = child.wait()
    phases += [line.strip() for line in child.stdout]
    child.stdout.close()
    # A kill after "done" finds the ingest over, though its process had not exited yet.
    return code == -signal.SIGKILL and phases[-1] != "done", phases[-1]


def check_after_kill(index: Path, states: list[dict], texts: dict[str, str]) -> set[str]:
    """Everything a user relies on, after a kill; returns the checks that failed
    on the files as the kill left them (before opening repaired anything)."""
    found = {c.name for c in doctor.diagnose(index, FAKE_MODEL) if not c.ok}
    assert found <= STALE_CACHE, found
    kb = KnowledgeBase(index, FAKE_MODEL)  # rebuilds a stale FAISS cache from SQLite
    try:
        assert all(c.ok for c in doctor.diagnose(index, FAKE_MODEL))
        assert library(kb) in states
        embedder = FakeEmbedder()
        for query in QUERIES:
            hits = search(kb, embedder, query, k=5, mode="dense", expand=False)
            assert len(hits) == 5
            q = embedder.encode_queries([query])[0]
            for hit in hits:  # an existing passage, with the vector of its own text
                assert texts[hit.chunk.chunk_id] == hit.chunk.text
                assert abs(hit.score - float(embedder.encode_passages([hit.chunk.text])[0] @ q)) < 1e-4
            assert len(search(kb, embedder, query, k=5, expand=False)) == 5
    finally:
        kb.close()
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_moments_leaves_a_state_before_after_or_between_documents(scenario, tmp_path, seed):
    """11 kills per seed (22 in all): 5 at a uniform moment of the whole ingest,
    6 at a random moment inside a chosen phase, so every phase is aimed at."""
    base, batch, states, texts = scenario
    rng = random.Random(seed)
    shutil.copytree(base / "before", tmp_path / "timed")
    # Uniform kills fall inside the ingest as this machine runs it (a fixed span
    # let a faster CI machine finish before 2 of 5 kills); a kill after it ends
    # would only find the "after" state.
    seconds = ingest_seconds(tmp_path / "timed", batch)
    span = 0.75 * seconds
    targets = [None] * 5 + [PHASES[i % len(PHASES)] for i in range(seed, seed + 6)]
    hit, stale, leftovers = Counter(), 0, 0
    for trial, target in enumerate(targets):
        index = tmp_path / f"kill-{trial}"
        shutil.copytree(base / "before", index)
        interrupted, phase = kill_once(index, batch, rng, target, span)
        hit[phase if interrupted else "terminada"] += 1
        stale += bool(check_after_kill(index, states, texts))
        leftovers += any(index.glob(".vectors.*.tmp"))
        shutil.rmtree(index)
    print(f"\nsemilla {seed}: ingesta de {seconds:.2f} s; fases alcanzadas {dict(hit)}; "
          f"índices con FAISS desfasado antes de abrir: {stale}; con archivos temporales de un guardado cortado: {leftovers}")
    assert sum(n for phase, n in hit.items() if phase != "terminada") >= 10  # the ingest was really interrupted


def test_searches_during_an_ingest_always_see_a_consistent_index(scenario, tmp_path):
    """Readers like the app and `kb search` running beside an ingest in another
    process: one index kept open (its vectors follow the commits), and one opened
    anew for each search (as the app does when the files change)."""
    base, batch, states, texts = scenario
    index = tmp_path / "index"
    shutil.copytree(base / "before", index)
    errors: list[BaseException] = []
    seen: list[frozenset] = []
    searches = Counter()
    child = start_child(index, batch)

    def check(kb: KnowledgeBase, query: str, mode: str) -> None:
        embedder = FakeEmbedder()
        hits = search(kb, embedder, query, k=8, mode=mode)
        assert hits, query
        q = embedder.encode_queries([query])[0]
        for hit in hits:
            assert texts[hit.chunk.chunk_id] == hit.chunk.text
            if mode == "dense":
                assert abs(hit.score - float(embedder.encode_passages([hit.chunk.text])[0] @ q)) < 1e-4
        seen.append(frozenset(hit.chunk.doc_id for hit in hits))

    def reader(name: str, reopen: bool, mode: str) -> None:
        kb = None
        try:
            while child.poll() is None:
                if kb is None or reopen:
                    if kb is not None:
                        kb.close()
                    kb = KnowledgeBase(index, FAKE_MODEL)
                for query in QUERIES:
                    check(kb, query, mode)
                    searches[name] += 1
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            if kb is not None:
                kb.close()

    threads = [threading.Thread(target=reader, args=args) for args in
               [("abierto-denso", False, "dense"), ("abierto-híbrido", False, "hybrid"),
                ("reabierto", True, "dense")]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert child.wait() == 0
    if errors:
        raise errors[0]
    print(f"\nbúsquedas durante la ingesta: {dict(searches)}")
    assert all(searches.values())
    kb = KnowledgeBase(index, FAKE_MODEL)
    try:
        assert library(kb) == states[-1]
        check(kb, QUERIES[0], "dense")
    finally:
        kb.close()


def test_two_ingests_in_turn_never_save_vectors_missing_the_others_documents(scenario, tmp_path):
    """Two processes ingesting into one index (here two open indexes): the second
    one's vectors, loaded before the first one wrote, lack its documents; saving
    them as current would leave a cache that opening trusts."""
    base, batch, states, texts = scenario
    index = tmp_path / "index"
    shutil.copytree(base / "before", index)
    first, second = KnowledgeBase(index, FAKE_MODEL), KnowledgeBase(index, FAKE_MODEL)
    try:
        ingest(first, FakeEmbedder(), batch[:1])
        ingest(second, FakeEmbedder(), batch[2:3])
        assert [c.name for c in doctor.diagnose(index, FAKE_MODEL) if not c.ok] == []
    finally:
        first.close()
        second.close()
