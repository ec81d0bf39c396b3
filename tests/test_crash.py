"""kill -9 an ingest midway: the index still opens, is consistent, and searches."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from kb import config
from kb.index import KnowledgeBase
from kb.search import search
from tests.fakes import FAKE_MODEL, FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
SLOW_INGEST = """
import sys, time
from tests.fakes import FAKE_MODEL, FakeEmbedder
from kb.index import KnowledgeBase
from ingest.pipeline import ingest

class Slow(FakeEmbedder):
    def encode_passages(self, texts):
        time.sleep(0.4)
        return super().encode_passages(texts)

print("start", flush=True)
ingest(KnowledgeBase(sys.argv[1], FAKE_MODEL), Slow(), sys.argv[2:])
"""


@pytest.mark.parametrize("delay", [0.3, 0.9, 1.5])
def test_killed_ingest_leaves_a_consistent_searchable_index(tmp_path, delay):
    corpus = tmp_path / "corpus"
    shutil.copytree(config.bundled_corpus_dir(), corpus)
    files = sorted(corpus.glob("*.txt"))
    index = tmp_path / "index"
    kb = KnowledgeBase(index, FAKE_MODEL)
    ingest(kb, FakeEmbedder(), files[:2])
    before = {d.doc_id: d.chunks for d in kb.store.documents()}
    kb.close()
    changed = files[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nUn párrafo añadido.", encoding="utf-8")

    proc = subprocess.Popen([sys.executable, "-c", SLOW_INGEST, str(index), *map(str, files)],
                            cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == b"start"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the ingest finished before it could be killed"

    kb = KnowledgeBase(index, FAKE_MODEL)
    try:
        assert kb.store.integrity_ok()
        assert len(kb.vectors) == kb.store.chunk_count()
        docs = {d.doc_id: d for d in kb.store.documents()}
        assert set(before) <= set(docs)  # nothing indexed before is lost
        for doc in docs.values():
            assert doc.chunks > 0 and doc.pages > 0  # every document is whole
        hits = search(kb, FakeEmbedder(), "distritos industriales", k=3)
        assert len(hits) == 3 and all(h.citation for h in hits)
    finally:
        kb.close()
