"""Content hashes of files (skip unchanged documents, fingerprint models)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def update_from_file(digest, path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    update_from_file(digest, path)
    return digest.hexdigest()
