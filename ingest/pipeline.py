"""Ingest files into a knowledge base: extract, clean, chunk, embed, store.

Each document is written in one transaction (old version out, new one in), so
an interruption at any point leaves the previous state fully usable. Progress
is reported through a callback; this module never prints.

Extraction, cleaning and chunking of the next files run in a producer thread
while the main thread embeds and stores the current one: the model releases
the GIL during inference, so the two overlap. Only the main thread touches the
index; results keep the order of the files.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest import kinds, ocr
from ingest.chunk import VERSION as CHUNKER_VERSION
from ingest.chunk import chunk_pages
from ingest.clean import clean_pages, unusable_report
from kb.ask.presets import PRESETS_FILE
from kb.cite.catalog import CATALOG_FILE, load_catalog, slugify
from kb.concepts.taxonomy import TAXONOMY_FILE
from kb.errors import KBError
from kb.files import file_sha256
from kb.index import KnowledgeBase
from kb.model.resolve import ModelInfo
from kb.records import Chunk, CleanPage, DocumentMeta, DocumentRow, Extracted
from kb.store.db import Store
from kb.text.analysis import analyze

SUPPORTED = (".pdf", ".txt", ".md", ".docx", ".odt", ".epub", ".html", ".htm")
# Stored as the setting "chunking": an index whose passages another chunker or
# classifier made is chunked and embedded again, once (see `rechunk_if_changed`).
CHUNKING = f"{CHUNKER_VERSION}.{kinds.VERSION}"
RECHUNKING = ("El índice se hizo con una versión anterior de kb: se vuelven a dividir en pasajes y a "
              "vectorizar sus {n} documentos (una sola vez)…")
REEMBEDDING = ("El índice se hizo con otra versión del modelo ({old}); se vuelven a calcular con {new} "
               "los vectores de sus {n} documentos (una sola vez)…")


# A file's status as the CLI and the app show it.
STATUS_LABELS = {"indexed": "indexado", "replaced": "reemplazado", "unchanged": "sin cambios",
                 "duplicate": "duplicado", "failed": "fallido"}


@dataclass
class FileResult:
    path: Path
    status: str  # a key of STATUS_LABELS
    doc_id: str | None = None
    reason: str | None = None  # one Spanish line: why it failed, or which pages were unusable
    pages: int = 0
    chunks: int = 0


@dataclass
class Progress:
    """Where an ingest stands: reported before each file, after each batch of its
    passages is embedded, and at the end."""

    files_done: int
    files_total: int
    pages: int
    chunks: int  # passages stored or embedded so far, the current file's included
    current: Path | None
    current_chunks: int = 0  # passages of the current file embedded so far
    current_total: int = 0  # passages of the current file (0 until it is chunked)
    finished: FileResult | None = None  # the file that ended just before this report

    @property
    def fraction(self) -> float:
        """Share of the work done: whole files plus the embedded share of the current one."""
        part = self.current_chunks / self.current_total if self.current_total else 0.0
        return min(1.0, (self.files_done + part) / max(self.files_total, 1))


@dataclass(frozen=True)
class Ignored:
    """A file found in a folder and left out, with why, in Spanish."""

    path: Path
    reason: str


@dataclass
class Summary:
    results: list[FileResult] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)  # files in folders with an unsupported extension

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


# kb's own files, which live beside the documents: never documents, never worth a warning.
KB_FILES = (CATALOG_FILE, TAXONOMY_FILE, PRESETS_FILE)


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[Ignored]]:
    """Files to ingest: named files as given, folders searched for supported files;
    and the files in those folders left out, each with its reason."""
    files: list[Path] = []
    ignored: list[Ignored] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if child.suffix.lower() in SUPPORTED:
                    files.append(child)
                elif child.name not in KB_FILES:
                    ignored.append(Ignored(child, f"extensión no admitida: {child.suffix or 'sin extensión'}"))
        else:
            files.append(path)  # extract() explains what is wrong with it, if anything
    return list(dict.fromkeys(p.resolve() if p.exists() else p for p in files)), ignored


# Documents prepared ahead of the one being embedded: enough to keep the model
# busy, few enough that a library of long PDFs does not pile up in memory.
PREPARED_AHEAD = 2


@dataclass
class _Prepared:
    """A file read, cleaned and chunked off the main thread, or why it could not be."""

    path: Path
    sha: str | None = None
    extracted: Extracted | None = None
    cleaned: list[CleanPage] | None = None
    pieces: list[Chunk] | None = None
    chunked_as: str | None = None  # the doc_id the chunk ids were made with
    error: Exception | None = None  # raised again on the main thread, as if it happened there


def ingest(kb: KnowledgeBase, embedder, paths: Iterable[str | Path], *, prune: bool = False,
           progress: Callable[[Progress], None] = lambda _: None,
           notify: Callable[[str], None] = lambda _: None) -> Summary:
    rechunk_if_changed(kb, embedder, progress=progress, notify=notify)
    files, ignored = discover(paths)
    summary = Summary(ignored=ignored)
    catalogs: dict[Path, dict[str, DocumentMeta]] = {}
    pages = chunks = 0
    # Files whose content is stored already are only hashed ahead, not extracted:
    # re-ingesting an unchanged library must stay instant.
    stored = {document.sha256 for document in kb.store.documents()}
    reread = kb.store.unrecognised_hashes() if ocr.installed_languages() else set()
    stored -= reread
    finished: FileResult | None = None
    notices: set[str] = set()
    try:
        with _prepared_ahead(files, stored) as prepared:
            for done, path in enumerate(files):
                progress(Progress(done, len(files), pages, chunks, path, finished=finished))
                ready = next(prepared)
                notice = ready.extracted.notice if ready.extracted else None
                if notice and notice not in notices:  # said once per ingest, not once per scan
                    notices.add(notice)
                    notify(notice)

                def embedded(n: int, total: int, done: int = done, path: Path = path) -> None:
                    progress(Progress(done, len(files), pages, chunks + n, path, n, total))

                try:
                    catalog = catalogs.setdefault(path.parent, load_catalog(path.parent / CATALOG_FILE))
                    result = _ingest_file(kb, embedder, ready, catalog.get(path.name), embedded, reread)
                except KBError as error:
                    result = FileResult(path, "failed", reason=str(error))
                except OSError as error:
                    result = FileResult(path, "failed", reason=f"{path}: no se puede leer ({error.strerror or error})")
                summary.results.append(result)
                pages += result.pages
                chunks += result.chunks
                finished = result
        if prune:
            summary.pruned = _prune(kb)
        progress(Progress(len(files), len(files), pages, chunks, None, finished=finished))
    finally:
        # Whatever was committed is also made searchable by vector; if this
        # save never happens, the next open rebuilds the vectors from SQLite.
        kb.save_vectors()
    return summary


@contextmanager
def _prepared_ahead(files: list[Path], stored: set[str]) -> Iterator[Iterator[_Prepared]]:
    """The files prepared in order by a producer thread, at most PREPARED_AHEAD ahead;
    leaving the block (normally or by an exception) stops the thread."""
    ready: queue.Queue[_Prepared] = queue.Queue(maxsize=PREPARED_AHEAD)
    stop = threading.Event()

    def produce() -> None:
        for path in files:
            item = _prepare(path, stored)
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return

    def consume() -> Iterator[_Prepared]:
        for _ in files:
            yield ready.get()

    producer = threading.Thread(target=produce, name="kb-ingest-prepare", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        stop.set()
        producer.join()


def _prepare(path: Path, stored: set[str]) -> _Prepared:
    """Hash, extract, clean and chunk one file; runs on the producer thread, so it
    never touches the index (the chunk ids use the file's usual doc_id, checked later)."""
    prepared = _Prepared(path)
    try:
        prepared.sha = file_sha256(path)
        if prepared.sha not in stored:
            _read_and_chunk(prepared, slugify(path.name))
    except Exception as error:  # handed to the main thread, which decides as before
        prepared.error = error
    return prepared


def passages(doc_id: str, pages: list[CleanPage]) -> list[Chunk]:
    """A document's chunks, each classified (body text, bibliography...)."""
    return kinds.classify(chunk_pages(doc_id, pages))


def _read_and_chunk(prepared: _Prepared, doc_id: str) -> None:
    # Imported here: PyMuPDF takes 0.75 s to import, and readers that only check
    # whether the index is current (every `kb search`) never extract anything.
    from ingest.extract import extract

    prepared.extracted = extract(prepared.path)
    prepared.cleaned = clean_pages(prepared.extracted.pages)
    prepared.pieces = passages(doc_id, prepared.cleaned)
    prepared.chunked_as = doc_id


def _ingest_file(kb: KnowledgeBase, embedder, prepared: _Prepared, meta: DocumentMeta | None,
                 embedded: Callable[[int, int], None], reread: set[str]) -> FileResult:
    if prepared.error is not None:
        raise prepared.error
    path, sha, store = prepared.path, prepared.sha, kb.store
    assert sha is not None  # hashed by _prepare, or it set the error raised above
    same_content = store.document_by_hash(sha)
    if same_content is not None and sha in reread and same_content.path == str(path):
        same_content = None  # stored before OCR with pages that need it: read again, replacing it
    if same_content is not None:
        if same_content.path == str(path):
            if meta is not None and meta != same_content.meta:
                with store.atomic():  # the catalog changed: new metadata, same text and vectors
                    store.update_metadata(same_content.doc_id, meta)
            return FileResult(path, "unchanged", same_content.doc_id)
        if Path(same_content.path).exists():
            return FileResult(path, "duplicate", same_content.doc_id,
                              reason=f"{path}: mismo contenido que {same_content.doc_id} ({same_content.path}); "
                                     "se indexa una sola vez")
        # The file was moved or renamed: same document, nothing to re-embed.
        with store.atomic():
            store.move_document(same_content.doc_id, str(path))
        return FileResult(path, "unchanged", same_content.doc_id)
    doc_id, previous = _doc_id_for(kb, path)

    if prepared.extracted is None:
        # Its content was stored when the ingest began, under a version replaced earlier in this run.
        _read_and_chunk(prepared, doc_id)
    extracted, cleaned, pieces = prepared.extracted, prepared.cleaned, prepared.pieces
    assert extracted is not None and cleaned is not None and pieces is not None  # set by _read_and_chunk
    if prepared.chunked_as != doc_id:  # another file holds the usual name: ids carry the suffix
        pieces = passages(doc_id, cleaned)
    report = unusable_report(cleaned)
    if not pieces:
        # Nothing citable (an image-only PDF, a blank page): report it, store nothing.
        return FileResult(path, "failed", reason=f"{path}: {report or 'no contiene texto'}")
    vectors = _embed(kb, embedder, pieces, previous.doc_id if previous else None, embedded)
    meta = meta or _metadata_from_pdf(extracted.metadata, extracted.title_guess)
    # Built on first use (it compiles the taxonomy): here, not inside the transaction, which holds the write lock.
    _ = kb.tagger

    with store.atomic():
        if previous is not None:
            old_ids = store.chunk_ids_of(previous.doc_id)
            store.delete_document(previous.doc_id)
        document = store.insert_document(doc_id, str(path), sha, extracted.kind, meta, report)
        store.insert_pages(document, cleaned)
        ids = store.insert_chunks(document, pieces, [analyze(c.text) for c in pieces], vectors)
        kb.tag_document(doc_id)
        kb.bump_generation()
    if previous is not None:
        kb.vectors.remove(np.array(old_ids, dtype=np.int64))
    if ids:
        kb.vectors.add(np.array(ids, dtype=np.int64), vectors, kb.model)
    status = "replaced" if previous is not None else "indexed"
    usable = sum(p.status == "ok" for p in cleaned)
    return FileResult(path, status, doc_id, reason=f"{path}: {report}" if report else None,
                      pages=usable, chunks=len(pieces))


def chunking_is_current(store: Store) -> bool:
    """Whether the stored passages are those this version's chunker and classifier make."""
    return store.get_setting("chunking") == CHUNKING or store.is_empty()


def model_upgrade_pending(store: Store, model: ModelInfo) -> bool:
    """Whether the index's vectors come from another version of the model in use (the
    base model before kb's adapter, or an older adapter): those are computed again,
    once. Vectors of an unrelated model are refused as before (`check_same_model`)."""
    fingerprint = store.get_setting("model_fingerprint")
    if fingerprint is None or fingerprint == model.fingerprint or store.is_empty():
        return False
    family = (store.get_setting("model_name") or "").split(" + ")[0]
    return family == model.name.split(" + ")[0] and store.get_setting("dimension") == str(model.dimension)


def reembed_if_model_changed(directory: str | Path, model: ModelInfo, embedder, *,
                             progress: Callable[[Progress], None] = lambda _: None,
                             notify: Callable[[str], None] = lambda _: None) -> int:
    """Embed every stored passage again with `model` when `model_upgrade_pending`; one
    transaction per document (an interruption keeps each document whole and the next
    call goes on), the model recorded last. Returns how many documents it redid."""
    store = Store(directory)
    try:
        if not model_upgrade_pending(store, model):
            return 0
        key = f"reembedded:{model.fingerprint}:"
        documents = [d for d in store.documents() if store.get_setting(key + d.doc_id) is None]
        notify(REEMBEDDING.format(old=store.get_setting("model_name"), new=model.name, n=len(documents)))
        chunks = 0
        for done, document in enumerate(documents):
            ids = store.chunk_ids_of(document.doc_id)
            rows = store.chunks(ids)
            vectors = np.zeros((len(ids), model.dimension), np.float32)
            for start in range(0, len(ids), EMBED_BATCH):
                progress(Progress(done, len(documents), 0, chunks + start, Path(document.path), start, len(ids)))
                batch = ids[start:start + EMBED_BATCH]
                vectors[start:start + len(batch)] = embedder.encode_passages([rows[i].text for i in batch])
            with store.atomic():
                store.set_vectors(ids, vectors)
                store.set_setting(key + document.doc_id, "1")
            chunks += len(ids)
        with store.atomic():
            store.set_setting("model_name", model.name)
            store.set_setting("model_fingerprint", model.fingerprint)
            store.delete_settings("reembedded:")
            store.bump_generation()  # the saved FAISS cache is stale: rebuilt from SQLite on opening
        progress(Progress(len(documents), len(documents), 0, chunks, None))
        return len(documents)
    finally:
        store.close()


def documents_to_upgrade(directory: str | Path, model: ModelInfo) -> int:
    """How many documents `upgrade_passages` would embed or chunk again (0 when the index
    is current or missing), read without opening the index to write."""
    from kb.index import exists
    from kb.store.db import SchemaError

    if not exists(directory):
        return 0
    try:
        store = Store(directory, mode="read")
    except SchemaError:
        return 0
    try:
        stale = model_upgrade_pending(store, model) or not chunking_is_current(store)
        return len(store.documents()) if stale else 0
    finally:
        store.close()


def upgrade_passages(directory: str | Path, model, embedder, *,
                     progress: Callable[[Progress], None] = lambda _: None,
                     notify: Callable[[str], None] = lambda _: None) -> int:
    """`reembed_if_model_changed` and `rechunk_if_changed` for a reader about to open
    `directory`: the index is opened to write only when its vectors or passages are
    stale (or its schema is older)."""
    from kb.store.db import SchemaError

    try:
        store = Store(directory, mode="read")
    except SchemaError:
        store = None
    stale_model = False
    if store is not None:
        try:
            stale_model = model_upgrade_pending(store, model)
            if chunking_is_current(store) and not stale_model:
                return 0
        finally:
            store.close()
    redone = 0
    if stale_model:
        redone = reembed_if_model_changed(directory, model, embedder, progress=progress, notify=notify)
    kb = KnowledgeBase(directory, model)
    try:
        if redone:
            kb.rebuild_vectors()  # saved now, so readers do not each rebuild it from SQLite
        return max(redone, rechunk_if_changed(kb, embedder, progress=progress, notify=notify))
    finally:
        kb.close()


def rechunk_if_changed(kb: KnowledgeBase, embedder, *, progress: Callable[[Progress], None] = lambda _: None,
                       notify: Callable[[str], None] = lambda _: None) -> int:
    """Chunk, classify, embed and tag again, from their stored clean pages, the documents
    of an index made by another chunker; one transaction per document, so an interruption
    leaves every document whole and the next call goes on. Returns how many it redid."""
    store = kb.store
    if store.get_setting("chunking") == CHUNKING:
        return 0
    documents = [d for d in store.documents() if store.get_setting(f"chunking:{d.doc_id}") != CHUNKING]
    if not documents:  # a new index, or one whose last re-chunking stopped just before the end
        with store.atomic():
            store.delete_settings("chunking:")
            store.set_setting("chunking", CHUNKING)
        return 0
    notify(RECHUNKING.format(n=len(documents)))
    _ = kb.tagger  # built outside the transactions, which hold the write lock
    pages = chunks = 0
    try:
        for done, document in enumerate(documents):
            progress(Progress(done, len(documents), pages, chunks, Path(document.path)))
            cleaned = store.pages(document.doc_id)
            pieces = passages(document.doc_id, cleaned)

            def embedded(n: int, total: int, done: int = done, path: Path = Path(document.path)) -> None:
                progress(Progress(done, len(documents), pages, chunks + n, path, n, total))

            vectors = _embed(kb, embedder, pieces, document.doc_id, embedded)
            old_ids = store.chunk_ids_of(document.doc_id)
            with store.atomic():
                store.delete_chunks(document.doc_id)
                ids = store.insert_chunks(document.id, pieces, [analyze(c.text) for c in pieces], vectors)
                kb.tag_document(document.doc_id)
                store.set_setting(f"chunking:{document.doc_id}", CHUNKING)
                kb.bump_generation()
            kb.vectors.remove(np.array(old_ids, dtype=np.int64))
            if ids:
                kb.vectors.add(np.array(ids, dtype=np.int64), vectors, kb.model)
            pages += sum(p.status == "ok" for p in cleaned)
            chunks += len(pieces)
        with store.atomic():
            store.delete_settings("chunking:")
            store.set_setting("chunking", CHUNKING)
        progress(Progress(len(documents), len(documents), pages, chunks, None))
    finally:
        kb.save_vectors()
    return len(documents)


# Passages embedded per call: small enough that progress moves every few seconds,
# large enough that sorting by length still keeps padding low.
EMBED_BATCH = 64


def _embed(kb: KnowledgeBase, embedder, pieces: list, previous: str | None,
           embedded: Callable[[int, int], None] = lambda n, total: None) -> np.ndarray:
    """Vectors for `pieces`, re-using those of unchanged chunks of the previous version
    (same chunk id = same text), so an edited document is not embedded whole again;
    `embedded(n, total)` follows the work."""
    known = kb.store.vectors_of(previous, kb.model.dimension) if previous else {}
    todo = [i for i, c in enumerate(pieces) if c.chunk_id not in known]
    vectors = np.zeros((len(pieces), kb.model.dimension), np.float32)
    done = len(pieces) - len(todo)
    embedded(done, len(pieces))
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start:start + EMBED_BATCH]
        vectors[batch] = embedder.encode_passages([pieces[i].text for i in batch])
        done += len(batch)
        embedded(done, len(pieces))
    for i, chunk in enumerate(pieces):
        if chunk.chunk_id in known:
            vectors[i] = known[chunk.chunk_id]
    return vectors


def _doc_id_for(kb: KnowledgeBase, path: Path) -> tuple[str, DocumentRow | None]:
    """The file name's slug (a different file with the same name gets a suffix),
    and the stored document this file replaces, if any."""
    base = slugify(path.name)
    candidate, n = base, 1
    while True:
        existing = kb.store.document(candidate)
        if existing is None or existing.path == str(path) or not Path(existing.path).exists():
            return candidate, existing
        n += 1
        candidate = f"{base}-{n}"


_PLACEHOLDER_AUTHORS = {"user", "usuario", "admin", "administrator", "administrador", "autor", "author", "hp",
                        "pc", "winxp", "windows", "owner", "propietario"}
# Producer leftovers seen in real PDFs' title field: "doi:10.1016/…",
# "MCD_Desarrollo humano…_v9", "AnuarioEco..pmd", "Microsoft Word - informe.docx".
_JUNK_TITLE = re.compile(r"^(doi:|microsoft word|untitled|sin título)|_v\d+$|\.(docx?|pdf|pmd|indd|qxd|rtf)$|^\S+$",
                         re.IGNORECASE)


# Redalyc stamps its name on the title field of the PDFs it serves:
# "Redalyc.PRINCIPALES TEORIAS…". Only that exact form: "Redalyc: …" can be a real title.
_REPOSITORY_PREFIX = re.compile(r"^redalyc\.\s*", re.IGNORECASE)


def _plausible_title(title: str) -> str | None:
    title = _REPOSITORY_PREFIX.sub("", " ".join(title.split()))
    return None if not title or _JUNK_TITLE.search(title) else title


def _plausible_author(author: str) -> str | None:
    author = " ".join(author.split())
    if (len(author) < 3 or author.lower() in _PLACEHOLDER_AUTHORS or any(ch.isdigit() for ch in author)
            or (" " not in author and "," not in author and author.islower())):  # a login name: "yanet"
        return None
    return author


def _metadata_from_pdf(metadata: dict[str, str], title_guess: str | None = None) -> DocumentMeta:
    """Title and author from the PDF's own metadata when they look real, else the
    first page's title; no year: a file's creation date is not the publication year."""
    title = _plausible_title(metadata.get("title", "")) or title_guess
    author = _plausible_author(metadata.get("author", ""))
    return DocumentMeta(title=title, authors=(author,) if author else ())


def _prune(kb: KnowledgeBase) -> list[str]:
    gone = [d for d in kb.store.documents() if not Path(d.path).exists()]
    for document in gone:
        ids = kb.store.chunk_ids_of(document.doc_id)
        with kb.store.atomic():
            kb.store.delete_document(document.doc_id)
            kb.bump_generation()
        kb.vectors.remove(np.array(ids, dtype=np.int64))
    return [d.doc_id for d in gone]
