"""An index directory: the SQLite store plus the FAISS vectors, tied to one model.

SQLite is the truth and records the model and a generation number bumped by
every change; the FAISS file is a cache saved with the generation it matches,
rebuilt from the stored vectors whenever the two disagree (after a crash
between the SQLite commit and the FAISS save, for instance).

Searches read through `KnowledgeBase.reading()`: one SQLite snapshot and vectors
of that snapshot's generation, so a search running while another process
ingests sees the library before or after each document, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kb.concepts.taxonomy import Taxonomy, load_taxonomy
from kb.errors import ModelMismatchError
from kb.model.resolve import ModelInfo
from kb.store.db import Store
from kb.store.lexical import sparse_min
from kb.store.vectors import VectorIndex, build_vectors, check_same_model

if TYPE_CHECKING:
    from kb.store.lexical import SparseBM25


class KnowledgeBase:
    def __init__(self, directory: str | Path, model: ModelInfo, taxonomy: Taxonomy | None = None) -> None:
        self.directory = Path(directory)
        self.model = model
        self.store = Store(self.directory)
        # Set when another process changed the store while this one held its vectors
        # in memory: those vectors lack its changes and must not be saved as current.
        self._vectors_behind = False
        self._check_model()
        self.vectors = self._load_vectors()
        self.taxonomy = taxonomy or load_taxonomy(self.directory)
        self._tagger = None
        self._totals: dict[str, int] | None = None
        self._sparse: tuple[int, SparseBM25 | None] | None = None  # (generation it matches, index)
        self.sparse_min = sparse_min()  # chunks from which BM25 is kept in memory; read once per opening
        self._reanalyze_if_changed()
        self.retag_if_changed()

    @property
    def tagger(self):
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
        from kb.text import analysis

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
        return int(self.store.get_setting("generation") or 0)

    def bump_generation(self) -> None:
        """Call inside the transaction that changes chunks, then apply the same
        change to `self.vectors` (the generation they will match)."""
        current = self.generation
        if self.vectors.generation != current:
            self._vectors_behind = True
        self.store.set_setting("generation", str(current + 1))
        self.vectors.generation = current + 1

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
        return saved if saved is not None else self.rebuild_vectors()

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
        """The in-memory BM25 index (kb.lexical) of a large library, loaded or rebuilt
        to match the store; None when the library is small enough for FTS5."""
        from kb.store import lexical
        from kb.text import analysis

        generation = self.generation
        if self._sparse is None or self._sparse[0] != generation:
            index = None
            if self.store.chunk_count() >= self.sparse_min:
                index = lexical.load(self.directory)
                if index is None or index.generation != generation or index.analyzer != analysis.VERSION:
                    index = lexical.build(self.store.analyzed_texts(), generation, analysis.VERSION)
                    index.save(self.directory)
            self._sparse = (generation, index)
        return self._sparse[1]

    def save_vectors(self) -> None:
        if self._vectors_behind or self.vectors.generation != self.generation:
            self.rebuild_vectors()
            return
        self.vectors.save()
