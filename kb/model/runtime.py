"""The model on ONNX Runtime: the same vectors as sentence-transformers, without
importing torch (about 0.5 s to start instead of 10–15 s).

Needs the copy built once by `kb.model.onnx_export`. Tokenization is the
model's own tokenizer.json (Rust `tokenizers`), batching follows
sentence-transformers (longest first, padded to the batch's longest), pooling
happens inside the graph and the L2 norm here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.model.onnx_export import GRAPH, WORD_VECTORS
from kb.model.resolve import ModelInfo


def max_tokens(model_dir: Path) -> int:
    """Tokens the model reads of a text, as sentence-transformers decides it."""
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("config.json", "max_position_embeddings")):
        cfg = model_dir / name
        if cfg.is_file():
            value = json.loads(cfg.read_text(encoding="utf-8")).get(key)
            if value:
                return int(value)
    return 512


class OnnxEmbedder:
    """Encodes like `kb.model.embedder.Embedder` (cosine ≥ 0.9999 with it), on ONNX Runtime."""

    runtime = "onnx"

    def __init__(self, info: ModelInfo, onnx_dir: Path, *, batch_size: int = 16) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from kb.model.embedder import model_input

        self._input = model_input
        self.info = info
        self.dimension = info.dimension
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(info.path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens(info.path))
        self.word_vectors = np.load(onnx_dir / WORD_VECTORS, mmap_mode="r")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its warnings name graph internals, nothing a user can act on
        self.session = onnxruntime.InferenceSession(str(onnx_dir / GRAPH), options,
                                                    providers=["CPUExecutionProvider"])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._input(self.info.query_prefix, t) for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._input(self.info.passage_prefix, t) for t in texts])

    def token_ids(self, text: str) -> list[int]:
        """Token ids the model sees for `text` (prefix not added), with <s> and </s>."""
        return list(self.tokenizer.encode(text).ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            width = len(ids[batch[0]])
            tokens = np.zeros((len(batch), width), np.int64)
            mask = np.zeros((len(batch), width), np.int64)
            for row, i in enumerate(batch):
                tokens[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            # Padding positions are masked out: which row they read does not matter.
            embeds = np.asarray(self.word_vectors[tokens], dtype=np.float32)
            out[batch] = self.session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        return np.ascontiguousarray(out / np.linalg.norm(out, axis=1, keepdims=True))
