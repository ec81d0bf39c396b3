"""kb's retrieval adapter: LoRA matrices trained on the field (train/), merged into the
base model's weights when the default model is built.

The adapter is two small matrices per linear layer, A (rank x in) and B (out x rank);
merged, each weight becomes W + scale * B @ A, so every runtime (PyTorch, ONNX Runtime)
runs the adapted model at the base model's speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kb.files import file_sha256

ADAPTER_DIR = Path(__file__).resolve().parent / "adapter"
WEIGHTS = "adapter.safetensors"
MANIFEST = "manifest.json"


def available(directory: Path) -> bool:
    return (directory / WEIGHTS).is_file() and (directory / MANIFEST).is_file()


def fingerprint(directory: Path) -> str:
    return "sha256:" + file_sha256(directory / WEIGHTS)


def manifest(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))


def merge(state: dict[str, np.ndarray], directory: Path) -> dict[str, np.ndarray]:
    """`state` (BERT parameter names) with every adapted weight replaced by W + scale * B @ A."""
    from safetensors.numpy import load_file

    scale = float(manifest(directory)["scale"])
    matrices = load_file(str(directory / WEIGHTS))
    merged = dict(state)
    for key in sorted(k for k in matrices if k.endswith(".lora_A")):
        name = key.removesuffix(".lora_A")
        a = matrices[key].astype(np.float32)
        b = matrices[f"{name}.lora_B"].astype(np.float32)
        weight = f"{name}.weight"
        if weight not in merged or merged[weight].shape != (b.shape[0], a.shape[1]):
            raise ValueError(f"{directory / WEIGHTS}: {name} no corresponde a ninguna capa del modelo base")
        merged[weight] = merged[weight] + scale * (b @ a)
    return merged
