"""Everything `kb` prints about itself is Spanish: help, usage lines, click's errors."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from kb.cli import cli

# Click's own English, as it prints it when untranslated.
ENGLISH = re.compile(
    r"\b(?:Usage|Options|Commands|Show|version|exit|message|Try|Missing|Invalid|argument|such|option|"
    r"requires|extra|default|INTEGER|FLOAT|TEXT|BOOLEAN|DIRECTORY|FILE|PATH|OPTIONS|COMMAND|ARGS|"
    r"QUERIES|PATHS|DOC_ID|CONCEPT_ID|Aborted|not a valid|Did you mean)\b")


def english_in(output: str) -> list[str]:
    # Option names and the values a user types (--mode hybrid) are names, not prose.
    prose = re.sub(r"--?[\w-]+|\[[\w|]+\]", " ", output)
    return ENGLISH.findall(prose)


def invoke(*args: str) -> str:
    return CliRunner().invoke(cli, list(args), prog_name="kb").output


@pytest.mark.parametrize("command", [None, *sorted(cli.commands)])
def test_every_help_page_is_spanish(command):
    output = invoke(*([command] if command else []), "--help")
    assert output.startswith("Uso: kb")
    assert "Opciones:" in output and "Muestra esta ayuda y sale." in output
    assert english_in(output) == []


@pytest.mark.parametrize("args, expected", [
    (["search"], "Error: Falta el argumento 'CONSULTAS...'."),
    (["search", "x", "-k", "3"], "Error: No existe la opción '-k'."),
    (["search", "x", "--k", "tres"], "Error: Valor no válido para '--k': 'tres' no es un entero válido."),
    (["search", "x", "--mode", "rapido"], "Error: Valor no válido para '--mode': 'rapido' no es ninguno de:"),
    (["buscar"], "Error: No existe la orden 'buscar'."),
    (["show"], "Error: Falta el argumento 'DOCUMENTO'."),
])
def test_click_errors_are_spanish(args, expected):
    output = invoke(*args)
    assert expected in output
    assert "Pruebe «kb" in output and "para ver la ayuda." in output
    assert english_in(output) == []
