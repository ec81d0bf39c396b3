"""The package layout the code relies on: which modules may import which, who reads
the environment, and what the search path must not load."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb"
ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
HEAVY = ("torch", "transformers", "sentence_transformers")


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside functions, relative ones resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(ROOT).parts[:-1]
    found = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


def environment_uses(path: Path) -> list[str]:
    """`os.environ`, `os.getenv`... and `from os import environ`, with their lines."""
    uses = []
    for node in ast.walk(parse(path)):
        if (isinstance(node, ast.Attribute) and node.attr in ENV_NAMES
                and isinstance(node.value, ast.Name) and node.value.id == "os"):
            uses.append(f"{name(path)}:{node.lineno} os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            uses += [f"{name(path)}:{node.lineno} from os import {a.name}" for a in node.names if a.name in ENV_NAMES]
    return uses


def test_kb_never_imports_ingest_except_the_cli():
    offenders = {name(path): sorted(m for m in imported(path) if m == "ingest" or m.startswith("ingest."))
                 for path in modules("kb") if path != KB / "cli.py"}
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_import_check_sees_imports_inside_functions():
    assert "ingest.pipeline" in imported(KB / "cli.py")  # imported by the commands, not at the top


def test_only_the_config_module_touches_the_environment():
    uses = [use for path in modules("kb", "ingest") if path != KB / "config.py" for use in environment_uses(path)]
    assert uses == []
    assert environment_uses(KB / "config.py")  # the check does see a real reader


def test_every_subpackage_says_what_it_holds():
    packages = sorted(init.parent for init in KB.rglob("__init__.py"))
    assert len(packages) > 5
    assert [name(p) for p in packages if not (ast.get_docstring(parse(p / "__init__.py")) or "").strip()] == []


@pytest.mark.parametrize("module", ["kb.cli", "kb.index", "kb.ask.search", "kb.store.db"])
def test_importing_the_search_path_loads_no_model_library(module):
    """The CLI's start-up and a search over an open index stay fast: the model
    libraries load only when something embeds."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
