"""Click's own words in Spanish: «Uso:», «Opciones:», its errors and type names.

Click looks its messages up through gettext at the moment it prints them (each
of its modules calls a module-level `_` or `ngettext`), and ships no Spanish
catalogue; rather than compile one, `install()` points those names at the table
below. A message missing from it stays in English, and the test that lists the
CLI's English strings fails on it.
"""

from __future__ import annotations

import importlib

import click

MESSAGES = {
    "Usage:": "Uso:",
    "Options": "Opciones",
    "Commands": "Órdenes",
    "Positional arguments": "Argumentos",
    "Show the version and exit.": "Muestra la versión y sale.",
    "Show this message and exit.": "Muestra esta ayuda y sale.",
    "%(prog)s, version %(version)s": "%(prog)s, versión %(version)s",
    "Try '{command} {option}' for help.": "Pruebe «{command} {option}» para ver la ayuda.",
    "Error: {message}": "Error: {message}",
    "Aborted!": "Interrumpido.",
    "Missing argument": "Falta el argumento",
    "Missing option": "Falta la opción",
    "Missing parameter": "Falta el parámetro",
    "Missing parameter: {param_name}": "Falta el parámetro: {param_name}",
    "Missing {param_type}": "Falta {param_type}",
    "Missing command.": "Falta la orden.",
    "No such command {name!r}.": "No existe la orden {name!r}.",
    "No such option {name!r}.": "No existe la opción {name!r}.",
    "Option {name!r} does not take a value.": "La opción {name!r} no lleva valor.",
    "Invalid value for {param_hint}: {message}": "Valor no válido para {param_hint}: {message}",
    "Invalid value: {message}": "Valor no válido: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} no es un {number_type} válido.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} no es un valor sí/no válido. Valores reconocidos: {states}",
    "{value} is not in the range {range}.": "{value} no está en el intervalo {range}.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} no existe.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} es una carpeta.",
    "{name} {filename!r} is a file.": "{name} {filename!r} es un archivo.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} no se puede leer.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} no se puede escribir.",
    "Could not open file {filename!r}: {message}": "No se puede abrir el archivo {filename!r}: {message}",
    "Choose from:\n\t{choices}": "Elija entre:\n\t{choices}",
    "default: {default}": "por omisión: {default}",
    "env var: {var}": "variable de entorno: {var}",
    "deprecated": "obsoleto",
    "file": "archivo",
    "directory": "carpeta",
    "path": "ruta",
    "Do you want to continue?": "¿Quiere continuar?",
    "Repeat for confirmation": "Repita para confirmar",
    "Error: The two entered values do not match.": "Error: los dos valores no coinciden.",
    "Error: invalid input": "Error: entrada no válida",
    "Press any key to continue...": "Pulse una tecla para continuar…",
}
PLURALS = {
    "Did you mean {possibility}?": ("¿Quiso decir {possibility}?", "(¿Quiso decir una de: {possibilities}?)"),
    "Got unexpected extra argument ({args})": ("Sobra un argumento ({args})", "Sobran argumentos ({args})"),
    "Option {name!r} requires an argument.": ("La opción {name!r} necesita un valor.",
                                              "La opción {name!r} necesita {nargs} valores."),
    "{value!r} is not {choice}.": ("{value!r} no es {choice}.", "{value!r} no es ninguno de: {choices}."),
    "Takes {nargs} values but 1 was given.": ("Lleva {nargs} valores, pero se dio 1.",
                                              "Lleva {nargs} valores, pero se dieron {len}."),
}
# Click prints a parameter's type in its help (--k ENTERO) and in its errors.
TYPE_NAMES: dict[click.ParamType, str] = {click.INT: "entero", click.FLOAT: "número", click.STRING: "texto",
                                          click.BOOL: "sí/no"}
_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


def translate(message: str) -> str:
    return MESSAGES.get(message, message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    forms = PLURALS.get(singular)
    if forms is None:
        return singular if n == 1 else plural
    return forms[0] if n == 1 else forms[1]


def install() -> None:
    """Make click speak Spanish in this process (idempotent)."""
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            setattr(module, "_", translate)
        if hasattr(module, "ngettext"):
            setattr(module, "ngettext", translate_plural)
    for param_type, name in TYPE_NAMES.items():
        param_type.name = name



def localize(group: click.Group) -> None:
    """The usage lines of `group` and its commands in Spanish: «[OPCIONES]», «ORDEN»."""
    group.subcommand_metavar = "ORDEN [ARGUMENTOS]..."
    for command in [group, *group.commands.values()]:
        command.options_metavar = "[OPCIONES]"
