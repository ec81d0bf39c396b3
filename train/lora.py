"""LoRA on the encoder's linear layers, in a few lines of torch.

peft would do the same, but the transformers release kb runs needs a peft newer
than any on PyPI; these layers keep the parameter names kb/model/adapter.py
stores and merges (`<layer>.lora_A`, `<layer>.lora_B`).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoraLinear(nn.Module):
    """`base(x) + scale * B(A(dropout(x)))`, with `base` frozen and B starting at zero,
    so training starts from the base model exactly."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = base
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / rank
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scale


def add_lora(model: nn.Module, targets: list[str], rank: int, alpha: float, dropout: float) -> list[str]:
    """Freeze `model` and wrap every linear layer whose name ends with a target; returns their names."""
    for parameter in model.parameters():
        parameter.requires_grad = False
    wrapped = []
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and any(name == t or name.endswith("." + t) for t in targets):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, LoraLinear(module, rank, alpha, dropout))
            wrapped.append(name)
    return wrapped


def matrices(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter's matrices by `<layer>.lora_A` / `<layer>.lora_B`."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, LoraLinear):
            out[f"{name}.lora_A"] = module.lora_A.detach()
            out[f"{name}.lora_B"] = module.lora_B.detach()
    return out


def load_matrices(model: nn.Module, found: dict[str, torch.Tensor]) -> None:
    """Set the adapter's matrices from `matrices`' naming (a checkpoint, a kept best)."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, LoraLinear):
                module.lora_A.copy_(found[f"{name}.lora_A"])
                module.lora_B.copy_(found[f"{name}.lora_B"])
