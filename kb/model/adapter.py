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
        merged[weight] = (merged[weight].astype(np.float64) + scale * product(b, a)).astype(np.float32)
    return merged


def product(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """B @ A in float64, the same to the last bit on every CPU. A BLAS matmul picks its
    kernel by CPU (AVX2, AVX-512), and those rounded differently: the merged weights, so
    the model's fingerprint, changed from one machine to the next, and the vectors
    shipped for the bundled corpus (and any index copied across) no longer matched.
    Elementwise operations round the same everywhere: the product of two float16
    values is exact in float64, and the rank's terms are summed in a fixed order."""
    out = np.zeros((b.shape[0], a.shape[1]), np.float64)
    for k in range(a.shape[0]):
        out += np.multiply.outer(b[:, k].astype(np.float64), a[k].astype(np.float64))
    return out
