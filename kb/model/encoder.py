"""What the rest of kb needs of an embedding model, as a type: the real
`Embedder`, the tests' hashed-bag fake and any other model satisfy it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from kb.model.resolve import ModelInfo


class Encoder(Protocol):
    """Encodes queries and passages into L2-normalised float32 rows."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...
