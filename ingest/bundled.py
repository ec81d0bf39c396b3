"""First use: an empty index gets the bundled corpus, so a new user can search at once.

The CLI and the app both call `ensure_bundled_corpus` before opening an index to
read; it is the only place where first use writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.pipeline import Progress, Summary, ingest
from kb.config import bundled_corpus_dir
from kb.index import KnowledgeBase, exists
from kb.model.encoder import Encoder
from kb.model.resolve import ModelInfo
from kb.store.db import SchemaError, Store

FIRST_USE = "Índice vacío: indexando el corpus incluido (una sola vez)…"


def is_empty(directory: str | Path) -> bool:
    """Whether `directory` has no index yet, or one without documents (read only)."""
    if not exists(directory):
        return True
    try:
        store = Store(directory, mode="read")
    except SchemaError:
        return False  # an index from an older kb holds documents; opening it to read upgrades it
    try:
        return store.is_empty()
    finally:
        store.close()


def ensure_bundled_corpus(directory: str | Path, model: ModelInfo, embedder: Encoder, *,
                          progress: Callable[[Progress], None] | None = None,
                          notify: Callable[[str], None] | None = None) -> Summary | None:
    """Index the bundled corpus into `directory` when it has no documents; the
    ingest's summary, or None when the index already had documents."""
    if not is_empty(directory):
        return None
    kb = KnowledgeBase(directory, model)
    try:
        if not kb.store.is_empty():  # another process filled it meanwhile
            return None
        if notify:
            notify(FIRST_USE)
        return ingest(kb, embedder, [bundled_corpus_dir()], progress=progress or (lambda _: None))
    finally:
        kb.close()
