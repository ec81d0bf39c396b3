"""Build, once per model, the ONNX Runtime copy that `kb.model.runtime` runs.

The export needs torch; running it does not. The graph takes the word vectors
instead of token ids (the 250k-row table stays in a memory-mapped .npy, read
row by row), so it is small and opens in a fraction of a second; it ends in the
model's mean pooling, so its output is the sentence vector before the L2 norm.
ONNX Runtime's transformer optimizer then fuses attention, GELU and layer norms.
"""

from __future__ import annotations

import json
import warnings
from importlib import metadata
from pathlib import Path

from kb import config
from kb.errors import ModelError
from kb.files import atomic_directory
from kb.model.resolve import ModelInfo

# Bumped when the exported files change, so an older copy is built again.
EXPORT_VERSION = 1
GRAPH = "encoder.onnx"
WORD_VECTORS = "word_embeddings.npy"
MANIFEST = "kb-onnx.json"
# sentence-transformers modules the exported graph reproduces; a model with any
# other (a Dense projection, CLS pooling) runs on torch.
_PLAIN_MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                  "sentence_transformers.models.Normalize")
# Architectures whose layers the optimizer knows how to fuse.
_FUSABLE = {"bert", "xlm-roberta", "roberta"}


def onnxruntime_version() -> str | None:
    try:
        return metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:
        return None


def unsupported_reason(info: ModelInfo) -> str | None:
    """Why `info` cannot run on ONNX Runtime, in Spanish, or None when it can."""
    if onnxruntime_version() is None:
        return "no está instalado onnxruntime (pip install onnxruntime)"
    modules = json.loads((info.path / "modules.json").read_text(encoding="utf-8"))
    types = [m.get("type") for m in modules]
    if not types or types[0] != _PLAIN_MODULES[0] or any(t not in _PLAIN_MODULES for t in types):
        return "el modelo tiene módulos que la exportación no reproduce (" + ", ".join(map(str, types)) + ")"
    pooling = info.path / next((m["path"] for m in modules if m.get("type") == _PLAIN_MODULES[1]), "1_Pooling")
    cfg = json.loads((pooling / "config.json").read_text(encoding="utf-8")) if (pooling / "config.json").is_file() \
        else {}
    modes = {k for k, v in cfg.items() if k.startswith("pooling_mode") and v}
    if modes - {"pooling_mode_mean_tokens"}:
        return f"el modelo usa un pooling distinto de la media ({', '.join(sorted(modes))})"
    if not (info.path / "tokenizer.json").is_file():
        return "el modelo no trae tokenizer.json"
    return None


def onnx_dir(info: ModelInfo) -> Path:
    """Where the copy of `info` for this onnxruntime lives, in the user cache."""
    digest = info.fingerprint.split(":")[-1][:16]
    return config.cache_dir() / "onnx" / f"{digest}-ort{onnxruntime_version()}-x{EXPORT_VERSION}"


def is_built(info: ModelInfo) -> bool:
    return (onnx_dir(info) / MANIFEST).is_file()


def ensure_onnx(info: ModelInfo) -> Path:
    """The ONNX copy of `info`, exported now if it is not there yet (10–30 s, once)."""
    dest = onnx_dir(info)
    if (dest / MANIFEST).is_file():
        return dest
    reason = unsupported_reason(info)
    if reason:
        raise ModelError(f"{info.path}: no se puede ejecutar con ONNX Runtime: {reason}.")
    try:
        with atomic_directory(dest, MANIFEST) as tmp:
            fused = _export(info.path, tmp)
            manifest = {
                "model_fingerprint": info.fingerprint,
                "export_version": EXPORT_VERSION,
                "onnxruntime": onnxruntime_version(),
                "fused": fused,
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except ModelError:
        raise
    except Exception as error:  # torch's exporter and the optimizer raise anything
        raise ModelError(f"{info.path}: falló la exportación a ONNX ({type(error).__name__}: {error}).") from error
    return dest


def _export(model_dir: Path, dest: Path) -> dict[str, int]:
    import numpy as np
    import torch
    from transformers import AutoConfig, AutoModel

    from kb.model.embedder import quiet_loading

    with quiet_loading():
        # Eager attention exports as plain operators, which the optimizer then fuses.
        encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    model_type = AutoConfig.from_pretrained(str(model_dir)).model_type
    word = encoder.get_input_embeddings().weight.detach().numpy()
    np.save(dest / WORD_VECTORS, np.ascontiguousarray(word, dtype=np.float32))

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, inputs_embeds, attention_mask):
            hidden = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    example = (torch.zeros(2, 7, word.shape[1]), torch.ones(2, 7, dtype=torch.int64))
    raw = dest / "raw.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about shape-dependent branches of the attention mask;
        # with right padding and masks as long as the batch they never change.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled(), example, str(raw), dynamo=False, opset_version=17,
            input_names=["inputs_embeds", "attention_mask"], output_names=["pooled"],
            dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "pooled": {0: "batch"}},
        )
    fused: dict[str, int] = {}
    if model_type in _FUSABLE:
        from onnxruntime.transformers import optimizer

        cfg = encoder.config
        optimized = optimizer.optimize_model(str(raw), model_type="bert", num_heads=cfg.num_attention_heads,
                                             hidden_size=cfg.hidden_size, opt_level=1)
        fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
        optimized.save_model_to_file(str(dest / GRAPH))
        raw.unlink()
    else:
        raw.rename(dest / GRAPH)
    return fused
