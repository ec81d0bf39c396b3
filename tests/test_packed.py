import struct

import numpy as np
import pytest

from kb.model.packed import PackedFormatError, dequantize_q4_0, read_packed
from tests.packed_writer import TINY_NORM_MAP, TINY_PIECES


def test_q4_0_block_low_nibbles_then_high_nibbles():
    scale = np.float16(0.5)
    # byte j = low nibble j (weight j), high nibble 15 - j (weight j + 16)
    qs = bytes((j | ((15 - j) << 4)) for j in range(16))
    weights = dequantize_q4_0(struct.pack("<e", scale) + qs, (1, 32))
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert weights.tolist() == [expected]


def test_reads_header_vocabulary_and_normalisation_map(tiny_packed):
    packed = read_packed(tiny_packed)
    assert (packed.hidden, packed.layers, packed.heads, packed.ffn) == (32, 2, 4, 64)
    assert packed.pieces == TINY_PIECES
    assert (packed.bos, packed.eos, packed.pad, packed.unk) == (0, 2, 1, 3)
    assert packed.norm_map == TINY_NORM_MAP
    assert packed.tensor("emb.word", (packed.vocab_size, 32)).shape == (len(TINY_PIECES) + 3, 32)
    with pytest.raises(PackedFormatError, match="emb.pos"):
        packed.tensor("emb.pos", (3, 3))


def test_rejects_a_file_that_is_not_a_packed_model(tmp_path):
    bogus = tmp_path / "modelo.bin"
    bogus.write_bytes(b"%PDF-1.7 not a model")
    with pytest.raises(PackedFormatError, match="modelo.bin"):
        read_packed(bogus)
