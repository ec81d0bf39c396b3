"""An index directory: the SQLite store plus the FAISS vectors, tied to one model.

SQLite is the truth and records the model and a generation number bumped by
every change; the FAISS file is a cache saved with the generation it matches,
rebuilt from the stored vectors whenever the two disagree (after a crash
between the SQLite commit and the FAISS save, for instance).

A knowledge base is opened either to write (`KnowledgeBase(...)`: creates the
index, brings its schema, lexical terms and tags up to date, saves rebuilt
caches) or to read (`KnowledgeBase.read(...)`, `open_for_reading`): then nothing
on disk is created or written, and caches are rebuilt in memory only.

Searches read through `KnowledgeBase.reading()`: one SQLite snapshot and vectors
of that snapshot's generation, so a search running while another process
ingests sees the library before or after each document, never a mix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kb.concepts.taxonomy import Taxonomy, load_taxonomy
from kb.errors import ModelMismatchError
from kb.model.resolve import ModelInfo
from kb.store.db import DB_FILE, SchemaError, Store
from kb.store.lexical import sparse_min
from kb.store.vectors import VectorIndex, build_vectors, check_same_model
from kb.text import analysis

if TYPE_CHECKING:
    from kb.concepts.tagger import Tagger
    from kb.store.lexical import SparseBM25


class KnowledgeBase:
    def __init__(self, directory: str | Path, model: ModelInfo, taxonomy: Taxonomy | None = None, *,
                 write: bool = True) -> None:
        """Open the index in `directory` for `model`; `write=False` opens it to read
        only (prefer `KnowledgeBase.read`): see the module's docstring."""
        self.directory = Path(directory)
        self.model = model
        self.writable = write
        self.store = Store(self.directory, mode="write" if write else "read")
        try:
            # Set when another process changed the store while this one held its vectors
            # in memory: those vectors lack its changes and must not be saved as current.
            self._vectors_behind = False
            self._check_model()
            self.vectors = self._load_vectors()
            self.taxonomy = taxonomy or load_taxonomy(self.directory)
            self._tagger: Tagger | None = None
            self._totals: dict[str, int] | None = None
            self._sparse: tuple[int, SparseBM25 | None] | None = None  # (generation it matches, index)
            self.sparse_min = sparse_min()  # chunks from which BM25 is kept in memory; read once per opening
            if write:
                self._reanalyze_if_changed()
                self.retag_if_changed()
        except BaseException:
            self.store.close()
            raise

    @classmethod
    def read(cls, directory: str | Path, model: ModelInfo, taxonomy: Taxonomy | None = None) -> KnowledgeBase:
        """The index opened to read: nothing is created or written (a missing index
        raises IndexMissingError); see `pending_upgrades`."""
        return cls(directory, model, taxonomy, write=False)

    def pending_upgrades(self) -> list[str]:
        """What a writer would bring up to date on opening: lexical terms of an older
        analyser, tags of another taxonomy. A reader sees the index as it is."""
        pending = []
        if self.store.get_setting("analyzer") != analysis.VERSION:
            pending.append("analyzer")
        if self.store.get_setting("taxonomy") != self.taxonomy.fingerprint:
            pending.append("taxonomy")
        return pending

    @property
    def tagger(self) -> Tagger:
        # Built on first use: it loads word lists that searches without concepts never need.
        if self._tagger is None:
            from kb.concepts.tagger import Tagger

            self._tagger = Tagger(self.taxonomy)
        return self._tagger

    def tag_document(self, doc_id: str) -> None:
        """(Re)tag one document's passages; call inside the transaction that wrote them."""
        chunks = self.store.chunk_texts(doc_id)
        tags = self.tagger.tag_document([text for _, text in chunks])
        self.store.replace_tags({chunk: t for (chunk, _), t in zip(chunks, tags)})
        self._totals = None

    def _reanalyze_if_changed(self) -> None:
        """Lexical terms follow the analyser: an index written by an older one is re-analysed."""
        if self.store.get_setting("analyzer") == analysis.VERSION:
            return
        with self.store.atomic():
            self.store.reanalyze(analysis.analyze)
            self.store.set_setting("analyzer", analysis.VERSION)

    def concept_totals(self) -> dict[str, int]:
        """Passages tagged with each concept across the library (cached per opening)."""
        if self._totals is None:
            self._totals = {c: sum(docs.values()) for c, docs in self.store.concept_counts().items()}
        return self._totals

    def retag_if_changed(self) -> bool:
        """Tags follow the taxonomy: when it changed, every passage is tagged again
        (text only; vectors are untouched). Returns whether it re-tagged."""
        if self.store.get_setting("taxonomy") == self.taxonomy.fingerprint:
            return False
        with self.store.atomic():
            for document in self.store.documents():
                self.tag_document(document.doc_id)
            self.store.set_setting("taxonomy", self.taxonomy.fingerprint)
        return True

    def close(self) -> None:
        self.store.close()

    def _check_model(self) -> None:
        fingerprint = self.store.get_setting("model_fingerprint")
        if fingerprint is None:
            if self.writable:
                with self.store.atomic():
                    self.store.set_setting("model_name", self.model.name)
                    self.store.set_setting("model_fingerprint", self.model.fingerprint)
                    self.store.set_setting("dimension", str(self.model.dimension))
                    self.store.set_setting("generation", "0")
            return
        check_same_model(self.directory, self.store.get_setting("model_name") or "?", fingerprint,
                         int(self.store.get_setting("dimension") or 0), self.model)

    @property
    def generation(self) -> int:
        return self.store.generation()

    def bump_generation(self) -> None:
        """Call inside the transaction that changes chunks, then apply the same
        change to `self.vectors` (the generation they will match)."""
        if self.vectors.generation != self.generation:
            self._vectors_behind = True
        self.vectors.generation = self.store.bump_generation()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A consistent view for a search: one SQLite snapshot, and vectors of that
        snapshot's generation (reloaded or rebuilt in memory when another process
        has committed since they were loaded), so every vector hit is a chunk the
        snapshot holds, with the text its vector was computed from."""
        with self.store.snapshot():
            generation = self.generation
            if self.vectors.generation != generation:
                self.vectors = self._vectors_at(generation)
            yield

    def _vectors_at(self, generation: int) -> VectorIndex:
        saved = self._saved_vectors(generation)
        # (not `or`: an empty index has len 0 and is falsy)
        return saved if saved is not None else build_vectors(self.store, self.model, self.directory)

    def _load_vectors(self) -> VectorIndex:
        with self.store.snapshot():
            generation, count = self.generation, self.store.chunk_count()
        saved = self._saved_vectors(generation, count)
        if saved is not None:
            return saved
        return self.rebuild_vectors() if self.writable else build_vectors(self.store, self.model, self.directory)

    def _saved_vectors(self, generation: int, count: int | None = None) -> VectorIndex | None:
        """The saved FAISS cache if it matches `generation` (and holds `count` vectors)."""
        try:
            vectors = VectorIndex.open(self.directory, self.model)
        except (FileNotFoundError, ValueError, RuntimeError, ModelMismatchError):
            return None  # missing, unreadable or foreign cache: the caller builds from SQLite
        if vectors.generation == generation and (count is None or len(vectors) == count):
            return vectors
        return None

    def rebuild_vectors(self) -> VectorIndex:
        self.vectors = build_vectors(self.store, self.model, self.directory)
        self.vectors.save()
        self._vectors_behind = False
        return self.vectors

    def sparse_lexical(self) -> SparseBM25 | None:
        """The in-memory BM25 index (kb.store.lexical) of a large library, loaded or
        rebuilt to match the store (and saved, by a writer); None when the library is
        small enough for FTS5."""
        from kb.store import lexical

        generation = self.generation
        if self._sparse is None or self._sparse[0] != generation:
            index = None
            if self.store.chunk_count() >= self.sparse_min:
                index = lexical.load(self.directory)
                if index is None or index.generation != generation or index.analyzer != analysis.VERSION:
                    index = lexical.build(self.store.analyzed_texts(), generation, analysis.VERSION)
                    if self.writable:
                        index.save(self.directory)
            self._sparse = (generation, index)
        return self._sparse[1]

    def save_vectors(self) -> None:
        if self._vectors_behind or self.vectors.generation != self.generation:
            self.rebuild_vectors()
            return
        self.vectors.save()


def exists(directory: str | Path) -> bool:
    """Whether `directory` holds an index (its SQLite file)."""
    return (Path(directory) / DB_FILE).is_file()


def open_for_reading(directory: str | Path, model: ModelInfo, taxonomy: Taxonomy | None = None, *,
                     notify: Callable[[str], None] | None = None) -> KnowledgeBase:
    """The index opened to read. An index that a writer would upgrade (an older
    schema, analyser or taxonomy) is upgraded first, once, by opening it to write:
    the one place where reading leads to a write, said through `notify`."""
    try:
        kb = KnowledgeBase.read(directory, model, taxonomy)
    except SchemaError as error:
        if error.newer:
            raise
    else:
        if not kb.pending_upgrades():
            return kb
        kb.close()
    if notify:
        notify("Actualizando el índice a esta versión de kb (una sola vez)…")
    KnowledgeBase(directory, model, taxonomy).close()
    return KnowledgeBase.read(directory, model, taxonomy)

