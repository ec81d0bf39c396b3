"""An ingest slowed down and narrated, for tests/test_crash.py to kill or to read beside.

Run as `python -m tests.crash_child INDEX FILE...` with the worktree on PYTHONPATH.
It prints one line per phase it enters (flushed at once), so the parent knows
where a SIGKILL landed:

- "start": the index is open and the ingest begins (kill delays count from here);
- "prepare": a file is hashed, looked up, extracted, cleaned and chunked;
- "embed": the fake embedder is computing a document's vectors (slowed by a sleep);
- "sql": a write transaction began (SQLite statements are slowed by a progress
  handler, so a kill can land between the statements of one document);
- "commit": COMMIT was issued (its WAL write and fsync, then the in-memory
  vector update);
- "save": a vector file is being written (the fsync of its temporary file is
  followed by a sleep, so a kill can leave a complete temporary file not yet
  renamed, or a new vectors.faiss beside the old vectors.json);
- "done": the ingest returned.
"""

from __future__ import annotations

import os
import sys
import time

from tests.fakes import FAKE_MODEL, FakeEmbedder

EMBED_SECONDS = 0.15  # per document
SQL_PAUSE = 0.002  # seconds per SQL_STEPS virtual-machine steps
SQL_STEPS = 2000
FSYNC_SECONDS = 0.1


def say(phase: str) -> None:
    print(phase, flush=True)


class Tracer:
    def __init__(self) -> None:
        self.phase = "start"

    def __call__(self, statement: str) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            self.enter("sql")
        elif statement.startswith(("COMMIT", "ROLLBACK")):
            self.enter("commit")
        elif self.phase in ("start", "commit"):  # the next document's lookups
            self.enter("prepare")

    def enter(self, phase: str) -> None:
        self.phase = phase
        say(phase)


class SlowEmbedder(FakeEmbedder):
    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def encode_passages(self, texts):
        self.tracer.enter("embed")
        time.sleep(EMBED_SECONDS)
        return super().encode_passages(texts)


def slow_sql() -> int:
    time.sleep(SQL_PAUSE)
    return 0  # non-zero would abort the statement


def main(index: str, files: list[str]) -> None:
    import kb.store.vectors
    from ingest.pipeline import ingest
    from kb.index import KnowledgeBase

    tracer = Tracer()
    real_fsync, real_write = os.fsync, kb.store.vectors.write_atomic

    def slow_fsync(fd: int) -> None:
        real_fsync(fd)
        time.sleep(FSYNC_SECONDS)

    def narrated_write(path, data):
        tracer.enter("save")
        real_write(path, data)

    os.fsync = slow_fsync  # only kb.files.write_atomic calls it from Python
    kb.store.vectors.write_atomic = narrated_write
    knowledge_base = KnowledgeBase(index, FAKE_MODEL)
    knowledge_base.store.db.set_trace_callback(tracer)
    knowledge_base.store.db.set_progress_handler(slow_sql, SQL_STEPS)
    say("start")
    ingest(knowledge_base, SlowEmbedder(tracer), files)
    say("done")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
