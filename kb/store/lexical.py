"""In-memory BM25 for large libraries: what FTS5 scores, without scoring every match.

FTS5 ranks `a OR b OR ...` by computing bm25() for every row that holds any
query term; a question names common terms ("empresas", "desarrollo"), so at
100k chunks that is most of the library, and a query took ~180 ms (p50,
bench/scale.py), growing with the library.
Here each term keeps its chunks with their BM25 weights precomputed (the
`bm25s` approach), so a query adds up the postings of its own terms: the same
scores as FTS5's bm25() (same k1, b and idf), in ~3 ms at 100k chunks.

Like the FAISS file it is a cache of the SQLite store: saved beside it as
`lexical.npz` with the generation it matches, rebuilt from the analysed texts
when the generations differ. Below `sparse_min()` chunks FTS5 is fast enough
and is used instead, so small libraries carry no extra file.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.config import sparse_min_setting

LEXICAL_FILE = "lexical.npz"
SPARSE_MIN = 20_000  # chunks; below, FTS5's bm25() is fast enough (p50 16 ms at 10k); KB_SPARSE_MIN overrides it
K1, B = 1.2, 0.75  # FTS5's bm25() defaults
_BATCH = 20_000  # chunks per counting step: bounds the memory of the build
FORMAT = 1  # bumped when the saved layout changes


def sparse_min() -> int:
    setting = sparse_min_setting()
    return SPARSE_MIN if setting is None else setting


@dataclass
class SparseBM25:
    ids: np.ndarray  # chunk row ids, ascending; postings refer to positions in it
    vocabulary: dict[str, int]
    indptr: np.ndarray  # term t's postings are [indptr[t], indptr[t + 1])
    rows: np.ndarray  # int32 positions into `ids`
    weights: np.ndarray  # float32 BM25 contribution of the term to the chunk
    generation: int
    analyzer: str

    def search(self, terms: list[str], limit: int, allowed: list[int] | None = None) -> list[tuple[int, float]]:
        """(chunk row id, score) of the best `limit` chunks holding any of `terms`,
        among `allowed` ids if given, best first (ties by id)."""
        columns = [self.vocabulary[t] for t in dict.fromkeys(terms) if t in self.vocabulary]
        if not columns:
            return []
        rows = np.concatenate([self.rows[self.indptr[c]:self.indptr[c + 1]] for c in columns])
        weights = np.concatenate([self.weights[self.indptr[c]:self.indptr[c + 1]] for c in columns])
        scores = np.bincount(rows, weights=weights, minlength=len(self.ids))
        if allowed is not None:
            wanted = np.asarray(allowed, dtype=np.int64)
            positions = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
            mask = np.zeros(len(self.ids), dtype=bool)
            mask[positions[self.ids[positions] == wanted]] = True
            scores[~mask] = 0
        candidates = np.flatnonzero(scores)
        if len(candidates) > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit - 1)[:limit]]
        candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [(int(self.ids[p]), float(scores[p])) for p in candidates]

    def save(self, directory: Path) -> None:
        """Write `lexical.npz` atomically (temporary file, fsync, rename)."""
        vocabulary = "\n".join(self.vocabulary).encode("utf-8")
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=f".{LEXICAL_FILE}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, ids=self.ids, indptr=self.indptr, rows=self.rows, weights=self.weights,
                         vocabulary=np.frombuffer(vocabulary, dtype=np.uint8),
                         header=np.array([FORMAT, self.generation], dtype=np.int64),
                         analyzer=np.frombuffer(self.analyzer.encode("utf-8"), dtype=np.uint8))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, Path(directory) / LEXICAL_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load(directory: Path) -> SparseBM25 | None:
    """The saved index, or None when missing, unreadable or of another format."""
    try:
        with np.load(Path(directory) / LEXICAL_FILE, allow_pickle=False) as data:
            fmt, generation = (int(v) for v in data["header"])
            if fmt != FORMAT:
                return None
            words = data["vocabulary"].tobytes().decode("utf-8")
            return SparseBM25(data["ids"], {w: i for i, w in enumerate(words.split("\n"))} if words else {},
                              data["indptr"], data["rows"], data["weights"], generation,
                              data["analyzer"].tobytes().decode("utf-8"))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # missing or damaged: the caller rebuilds it from SQLite


def build(texts, generation: int, analyzer: str) -> SparseBM25:
    """Index (chunk row id, analysed text) pairs given in ascending id order."""
    vocabulary: dict[str, int] = {}
    ids: list[int] = []
    lengths: list[int] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    batch_terms: list[int] = []
    batch_lengths: list[int] = []

    def flush() -> None:
        # Count each (chunk, term) pair once per batch: sort the pairs as one int64 key.
        first = len(ids) - len(batch_lengths)
        rows = np.repeat(np.arange(first, len(ids), dtype=np.int64), batch_lengths)
        keys, counts = np.unique((rows << 32) | np.asarray(batch_terms, dtype=np.int64), return_counts=True)
        parts.append(((keys >> 32).astype(np.int32), (keys & 0xFFFFFFFF).astype(np.int32), counts.astype(np.float32)))
        batch_terms.clear()
        batch_lengths.clear()

    for chunk_id, analyzed in texts:
        tokens = analyzed.split()
        ids.append(int(chunk_id))
        lengths.append(len(tokens))
        batch_lengths.append(len(tokens))
        batch_terms.extend([vocabulary.setdefault(t, len(vocabulary)) for t in tokens])
        if len(batch_lengths) >= _BATCH:
            flush()
    if batch_lengths:
        flush()
    empty = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32))
    rows, terms, tf = (np.concatenate(p) for p in zip(*(parts or [empty])))
    count = len(ids)
    length = np.asarray(lengths, dtype=np.float32)
    df = np.bincount(terms, minlength=len(vocabulary))
    # FTS5's idf, with its floor for terms in more than half the chunks.
    idf = np.log((count - df + 0.5) / (df + 0.5))
    idf = np.where(idf <= 0, 1e-6, idf).astype(np.float32)
    # weight = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / mean length)),
    # computed in place: at 1M chunks each temporary is ~400 MB.
    denominator = length[rows]
    denominator *= K1 * B / max(float(length.mean()) if count else 1.0, 1e-9)
    denominator += K1 * (1 - B)
    denominator += tf
    weights = tf
    weights *= K1 + 1
    weights /= denominator
    del denominator
    weights *= idf[terms]
    order = np.argsort(terms, kind="stable")
    del terms
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    return SparseBM25(np.asarray(ids, dtype=np.int64), vocabulary, indptr, rows[order], weights[order],
                      generation, analyzer)
