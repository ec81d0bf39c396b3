"""Where kb keeps its files, resolved in one place.

Precedence: explicit argument (CLI option), then environment variable, then
the per-user default directory.
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
