"""The user's settings, read in one place: the only module of kb that reads the
environment.

Precedence: explicit argument (CLI option), then environment variable, then
the default. A function returns None where the default belongs to the code that
uses the setting (the model, the precision, the index thresholds).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "kb"


def cache_dir() -> Path:
    """Per-user cache (built models); `KB_CACHE_DIR` overrides it."""
    env = os.environ.get("KB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False))


def model_setting(explicit: str | os.PathLike | None = None) -> Path | None:
    """The model directory the user asked for (`--model`, then `KB_MODEL`), if any."""
    value = explicit or os.environ.get("KB_MODEL")
    return Path(value).expanduser() if value else None


def precision_setting(explicit: str | None = None) -> str | None:
    """The precision the user asked for (`explicit`, then `KB_PRECISION`), if any; unchecked."""
    return explicit or os.environ.get("KB_PRECISION") or None


def runtime_setting(explicit: str | None = None) -> str | None:
    """The model runtime the user asked for (`explicit`, then `KB_RUNTIME`), if any; unchecked."""
    return explicit or os.environ.get("KB_RUNTIME") or None


def concepts_setting() -> Path | None:
    """The user's extra taxonomy file (`KB_CONCEPTS`), if any; it may not exist."""
    value = os.environ.get("KB_CONCEPTS")
    return Path(value).expanduser() if value else None


def exact_max_setting() -> int | None:
    """`KB_EXACT_MAX`: vectors above which a new vector index turns approximate
    (for tests and benchmarks; kb.store.vectors holds the default)."""
    return _int_setting("KB_EXACT_MAX")


def sparse_min_setting() -> int | None:
    """`KB_SPARSE_MIN`: chunks from which BM25 is kept in memory instead of asking
    FTS5 (for tests and benchmarks; kb.store.lexical holds the default)."""
    return _int_setting("KB_SPARSE_MIN")


def ocr_languages_setting() -> str | None:
    """`KB_OCR_LANGS`: Tesseract's languages for scanned pages ("spa+eng"; ingest/ocr.py
    holds the default)."""
    return os.environ.get("KB_OCR_LANGS") or None


def child_environment(**changes: str) -> dict[str, str]:
    """The environment for a program kb starts (Tesseract), with `changes`."""
    return {**os.environ, **changes}


def _int_setting(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def bundled_corpus_dir() -> Path:
    """The default corpus shipped with the project."""
    return Path(__file__).resolve().parent.parent / "corpus"


def index_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`--index`, else `KB_HOME`, else the per-user data directory."""
    value = explicit or os.environ.get("KB_HOME")
    if value:
        return Path(value).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))
