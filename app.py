"""kb en el navegador: buscar con citas, la biblioteca, los conceptos y el cuaderno.

    streamlit run app.py

A thin layer over the kb library: every action here is also a function there
(and mostly a CLI command). Document text is always shown escaped.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from kb.config import index_dir
from kb.errors import KBError
from kb.index import KnowledgeBase
from kb.records import Filters

RESULTS = 10
CONTEXT_CHARS = 600  # of page text shown on each side of a passage in "Ver en contexto"

st.set_page_config(page_title="kb · literatura y políticas", page_icon="📚", layout="wide")
st.markdown(
    "<style>mark.q{background:#fff3a3;padding:0 1px}mark.c{background:#d6ecff;padding:0 1px}"
    ".pasaje{line-height:1.55}</style>",
    unsafe_allow_html=True,
)


# resources -------------------------------------------------------------------


def index_stamp(directory: Path) -> tuple:
    """Changes whenever the index on disk changes (an ingest here or from the CLI)."""
    from kb.concepts.taxonomy import TAXONOMY_FILE
    from kb.store.db import DB_FILE

    files = [directory / DB_FILE, directory / f"{DB_FILE}-wal", directory / TAXONOMY_FILE]
    return tuple((f.stat().st_mtime_ns, f.stat().st_size) if f.exists() else None for f in files)


@st.cache_resource(show_spinner=False)
def load_embedder():
    """The model, loaded on its first encoding: a page that does not search never loads it."""
    from kb.model.embedder import LazyEmbedder

    return LazyEmbedder(model_info())


@st.cache_resource(show_spinner=False)
def model_info():
    from kb.model.resolve import resolve_model

    return resolve_model()


@st.cache_resource(show_spinner="Abriendo el índice…", max_entries=2)
def open_index(directory: str, stamp: tuple) -> KnowledgeBase:
    """The index opened read-only, shared by every session until the files change."""
    from kb.index import open_for_reading

    return open_for_reading(Path(directory), model_info())


def remaining(started: float, fraction: float) -> str:
    """«quedan unos 40 s», from the time so far and the share done; empty until it can tell."""
    if fraction < 0.02:
        return ""
    left = (time.monotonic() - started) * (1 - fraction) / fraction
    return f" · quedan unos {left:.0f} s" if left < 90 else f" · quedan unos {left / 60:.0f} min"


def ingest_progress(bar, what: str, started: float):
    """A progress callback that writes file k of n, its passages, the total and the time left on `bar`."""
    def progress(p) -> None:
        k = min(p.files_done + 1, p.files_total)
        name = f" ({p.current.name})" if p.current else ""
        part = f" · pasajes {p.current_chunks} de {p.current_total}" if p.current_total else ""
        bar.progress(p.fraction, text=f"{what}: archivo {k} de {p.files_total}{name}{part} · "
                                      f"{p.chunks} fragmentos en total{remaining(started, p.fraction)}")

    return progress


def prepare_model(purposes: tuple[str, ...]) -> None:
    """Build what the model needs on this machine (once) and load it, as a stage of a display."""
    st.write("Preparando el modelo de embeddings (la primera vez se convierte y se exporta: "
             "alrededor de medio minuto)…")
    embedder = load_embedder()
    for purpose in purposes:
        embedder.engine(purpose)


def first_use(directory: Path) -> None:
    """An empty index gets the bundled corpus, through the same call as the CLI's,
    with one display of its stages."""
    from ingest.bundled import ensure_bundled_corpus

    with st.status("Preparando kb por primera vez…", expanded=True) as status:
        # The corpus ships its passages' vectors: only searching needs the model now.
        prepare_model(("query",))
        st.write("Indexando el corpus incluido…")
        bar = st.progress(0.0, text="Indexando el corpus incluido…")
        progress = ingest_progress(bar, "Indexando el corpus incluido", time.monotonic())
        ensure_bundled_corpus(directory, model_info(), load_embedder(), progress=progress)
        status.update(label="Índice listo.", state="complete", expanded=False)


def upgrade(directory: Path) -> None:
    """An index made by an older chunker or another version of the model is brought up to
    date (passages divided again, vectors computed again), once, with the CLI's call."""
    from ingest.pipeline import upgrade_passages

    with st.status("Actualizando el índice…", expanded=True) as status:
        prepare_model(("passage",))
        bar = st.progress(0.0)
        progress = ingest_progress(bar, "Actualizando el índice", time.monotonic())
        upgrade_passages(directory, model_info(), load_embedder(), progress=progress, notify=st.write)
        status.update(label="Índice actualizado.", state="complete", expanded=False)


@st.cache_data(show_spinner=False, max_entries=4)
def stale_documents(directory: str, stamp: tuple, fingerprint: str) -> int:
    """Documents an upgrade would redo, asked once per state of the index files."""
    from ingest.pipeline import documents_to_upgrade

    return documents_to_upgrade(directory, model_info())


def knowledge_base() -> KnowledgeBase:
    from kb.index import exists

    directory = index_dir()
    # Asked before the index is opened: one made with an earlier version of the model
    # cannot be opened with this one until its vectors are computed again.
    if exists(directory) and stale_documents(str(directory), index_stamp(directory), model_info().fingerprint):
        upgrade(directory)
    # Asked of the cached index, so a page's rerun opens no new connection.
    if not exists(directory) or open_index(str(directory), index_stamp(directory)).store.is_empty():
        first_use(directory)
    return open_index(str(directory), index_stamp(directory))


@contextmanager
def writer() -> Iterator[KnowledgeBase]:
    """The index opened to write, for one action (an upload, a metadata edit); the
    read-only one is reopened on the next run, as the files have changed."""
    kb = KnowledgeBase(index_dir(), model_info())
    try:
        yield kb
    finally:
        kb.close()


@st.cache_data(show_spinner="Buscando…", max_entries=256)
def cached_search(directory: str, stamp: tuple, query: str, docs: tuple[str, ...], years: tuple[int, ...],
                  authors: tuple[str, ...], tags: tuple[str, ...], every_kind: bool = False) -> tuple[list, list]:
    """Hits and the extractive answer of one query, kept per state of the index."""
    from kb.ask.answer import extractive_answer
    from kb.ask.search import search

    kb = open_index(directory, stamp)
    filters = Filters(docs, years, authors, tags)
    hits = search(kb, load_embedder(), query, k=RESULTS, filters=filters or None, every_kind=every_kind)
    return hits, extractive_answer(kb, query, hits)


@st.cache_data(show_spinner="Construyendo la tabla…", max_entries=64)
def cached_table(directory: str, stamp: tuple, kind: str, ids: tuple[str, ...], aspects: tuple, scope: tuple[str, ...]):
    """One comparison table, kept per state of the index."""
    from kb.ask.compare import columns_for, compare

    kb = open_index(directory, stamp)
    return compare(kb, load_embedder(), columns_for(kb, kind, list(ids)), list(aspects), docs=scope)


def notebook():
    from kb.cite.notebook import Notebook, notebook_path

    return Notebook(notebook_path(index_dir()))


def lit(text: str) -> str:
    """Document or user text as inert HTML: no tags, no Markdown."""
    from kb.text.highlight import highlight_html

    return highlight_html(text, "")


# Buscar ----------------------------------------------------------------------


def page_search() -> None:
    kb = knowledge_base()
    query = st.text_input("Pregunta", key="q", bind="query-params",
                          placeholder="¿Qué es el mesoespacio institucional?")
    # Options are shown as they go into the URL (Streamlit binds the shown text),
    # so a shared link reads "?q=…&doc=saravi-1998-distritos-mexico&concepto=mesoespacio".
    documents = kb.store.documents()
    years = sorted({d.meta.year for d in documents if d.meta.year})
    authors = sorted({a for d in documents for a in d.meta.authors})
    concepts = {c.label: c.id for c in kb.taxonomy}
    left, mid, right, far = st.columns(4)
    docs = left.multiselect("Documentos", [d.doc_id for d in documents], key="doc", bind="query-params",
                            placeholder="Todos")
    chosen_years = mid.multiselect("Años", years, key="anio", bind="query-params", placeholder="Todos")
    chosen_authors = right.multiselect("Autores", authors, key="autor", bind="query-params", placeholder="Todos")
    labels = far.multiselect("Conceptos", sorted(concepts, key=str.lower), key="concepto", bind="query-params",
                             placeholder="Todos")
    tags = [concepts[label] for label in labels]
    every_kind = st.checkbox("Buscar también en bibliografías, índices, portadas y texto ilegible de OCR",
                             key="todo", bind="query-params")
    if not query or not query.strip():
        st.caption("Escriba una pregunta en español (o en inglés): cada pasaje llega con su cita.")
        return
    directory = index_dir()
    hits, answer = cached_search(str(directory), index_stamp(directory), query, tuple(docs),
                                 tuple(int(y) for y in chosen_years), tuple(chosen_authors), tuple(tags),
                                 every_kind)
    if not hits:
        st.info("Sin resultados con estos filtros.")
        return
    concept_card(kb, query)
    if len(answer) >= 2:
        st.subheader("Respuesta breve")
        lines = [f"«{lit(q.sentence)}» <b>[{q.number}]</b>" for q in answer]
        st.markdown("<br>".join(lines), unsafe_allow_html=True)
        sources = [f"[{q.number}] {lit(q.citation)}" for q in answer]
        st.markdown(f"<small>{'<br>'.join(sources)}</small>", unsafe_allow_html=True)
    st.subheader(f"Pasajes ({len(hits)})")
    for hit in hits:
        show_hit(kb, query, hit)


def concept_card(kb: KnowledgeBase, query: str) -> None:
    """The definition the taxonomy holds for the concept a query asks about."""
    from kb.concepts.report import asked_concept, concept_report

    concept = asked_concept(kb, query)
    if concept is None or not concept.definition:
        return
    report = concept_report(kb, concept.id, 2)
    lines = [f"<b>{lit(concept.label)}</b> · {lit(concept.framework)}", lit(concept.definition)]
    if concept.authors:
        lines.append(f"<small>Autores: {lit(', '.join(concept.authors))}</small>")
    lines += [f"<small>{lit(p.citation)}: «{lit(' '.join(p.text.split()[:30]))}…»</small>" for p in report.passages]
    with st.container(border=True, key="tarjeta-concepto"):
        st.markdown("<br>".join(lines), unsafe_allow_html=True)


def show_hit(kb: KnowledgeBase, query: str, hit) -> None:
    from kb.cite.apa import OCR_MARK, apa_in_text, apa_reference, chunk_locator
    from kb.cite.notebook import Entry
    from kb.text.highlight import highlight_html

    chunk = hit.chunk
    with st.container(border=True):
        st.markdown(f"<b>[{hit.rank}] {lit(hit.citation)}</b>", unsafe_allow_html=True)
        if chunk.kind != "body":
            st.markdown(f":gray-badge[{chunk.kind_label}]")
        if chunk.ocr:
            st.markdown(f":orange-badge[{OCR_MARK}]")
        if hit.tags:
            st.markdown(" ".join(f":blue-badge[{_badge(kb.taxonomy[t].label)}]" for t in hit.tags
                                 if t in kb.taxonomy))
        spans = [(start, end) for _, _, start, end, _ in kb.store.evidence(chunk.id)]
        st.markdown(f"<div class='pasaje'>{highlight_html(chunk.text, query, spans)}</div>",
                    unsafe_allow_html=True)
        locator = chunk_locator(chunk)
        copy, add, context = st.columns(3)
        with copy.expander("Copiar cita"):
            st.code(f"{apa_in_text(hit.meta, chunk.doc_id, locator)}\n\n{apa_reference(hit.meta, chunk.doc_id)}",
                    language=None, wrap_lines=True)
        if add.button("Añadir al cuaderno", key=f"add-{chunk.chunk_id}"):
            entry = Entry(chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, quote=chunk.text, locator=locator,
                          page=chunk.page_start)
            added = notebook().add(entry)
            st.toast("Añadido al cuaderno." if added else "Ya estaba en el cuaderno.")
        if context.toggle("Ver en contexto", key=f"ctx-{chunk.chunk_id}"):
            show_context(kb, hit)


def _badge(label: str) -> str:
    return label.replace("[", "(").replace("]", ")")


def show_context(kb: KnowledgeBase, hit) -> None:
    from ingest.render import render_page

    chunk = hit.chunk
    pages = kb.store.pages(chunk.doc_id)
    page = next((p for p in pages if p.number == chunk.page_start), pages[0] if pages else None)
    if page is None:
        return
    before = page.text[max(0, chunk.start - CONTEXT_CHARS):chunk.start]
    after_page = next((p for p in pages if p.number == chunk.page_end), page)
    after = after_page.text[chunk.end:chunk.end + CONTEXT_CHARS]
    st.markdown(f"<div class='pasaje'>…{lit(before)}<mark class='q'>{lit(chunk.text)}</mark>{lit(after)}…</div>",
                unsafe_allow_html=True)
    document = kb.store.document(chunk.doc_id)
    if document and document.kind == "pdf" and chunk.page_start:
        for number, quote in passage_by_page(pages, chunk):
            try:
                png, found = render_page(Path(document.path), number, quote)
            except KBError as error:
                st.warning(str(error))
                return
            st.image(png, caption=f"Página {number}" + ("" if found else " (no se pudo resaltar el pasaje)"))


def passage_by_page(pages, chunk, limit: int = 3) -> list[tuple[int, str]]:
    """The part of a passage that lies on each of its pages, so each page image
    highlights its own lines (a passage may start at the foot of one page)."""
    texts = {p.number: p.text for p in pages}
    last = min(chunk.page_end or chunk.page_start, chunk.page_start + limit - 1)
    parts = []
    for number in range(chunk.page_start, last + 1):
        text = texts.get(number, "")
        start = chunk.start if number == chunk.page_start else 0
        end = chunk.end if number == chunk.page_end else len(text)
        if text[start:end].strip():
            parts.append((number, text[start:end]))
    return parts


# Comparar ----------------------------------------------------------------------


def page_compare() -> None:
    from kb.ask import tables
    from kb.ask.compare import KINDS, Aspect, empty_text
    from kb.ask.presets import Preset, load_presets, save_preset
    from kb.cite.notebook import Entry
    from kb.text.highlight import find_span, highlight_html

    kb = knowledge_base()
    presets = load_presets(index_dir())
    by_title = {p.title: p for p in presets.values()}
    title = st.selectbox("Tabla predefinida", ["(ninguna)", *by_title], key="tabla")
    preset = by_title.get(title)
    names = {"framework": "Marcos", "document": "Documentos", "concept": "Conceptos"}
    kind = st.radio("Columnas", KINDS, format_func=names.get, horizontal=True, key=f"tipo-{title}",
                    index=KINDS.index(preset.columns) if preset else 0)
    documents = [d.doc_id for d in kb.store.documents()]
    options = {"framework": sorted({c.framework for c in kb.taxonomy}), "document": documents,
               "concept": sorted(c.id for c in kb.taxonomy)}[kind]
    chosen = st.multiselect(names[kind], options, key=f"columnas-{title}-{kind}",
                            default=[i for i in preset.ids if i in options] if preset and preset.columns == kind else [])
    scope = st.multiselect("Solo en estos documentos", documents, key=f"ambito-{title}") if kind != "document" else []
    known = {a.label: a for a in preset.aspects} if preset else {}
    text = st.text_area("Filas: un aspecto o una pregunta por línea", "\n".join(known), key=f"filas-{title}")
    aspects = [known.get(line.strip(), Aspect(line.strip())) for line in text.splitlines() if line.strip()]
    if not chosen or not aspects:
        st.info("Elija columnas y escriba al menos una fila.")
        return
    directory = index_dir()
    try:
        table = cached_table(str(directory), index_stamp(directory), kind, tuple(chosen), tuple(aspects),
                             tuple(scope))
    except ValueError as error:  # an unknown column id, said in Spanish
        st.error(str(error))
        return
    st.dataframe([{"aspecto": a.label, **{c.label: empty_text(c) if cell is None else f"«{' '.join(cell.sentence.split())}» "
                                          f"({cell.citation})" for c, cell in zip(table.columns, row)}}
                  for a, row in zip(table.aspects, table.cells)], hide_index=True, width="stretch")
    cells = {f"{a.label} · {c.label}": cell for a, row in zip(table.aspects, table.cells)
             for c, cell in zip(table.columns, row) if cell is not None}
    if cells:
        picked = st.selectbox("Ver una celda", list(cells), key=f"celda-{title}")
        cell = cells[picked]
        span = find_span(cell.text, cell.sentence)  # the quoted sentence, marked in its passage
        st.markdown(f"<b>{lit(cell.citation)}</b><div class='pasaje'>"
                    f"{highlight_html(cell.text, '', [span] if span else [])}</div>", unsafe_allow_html=True)
        if st.button("Añadir al cuaderno", key="celda-cuaderno"):
            added = notebook().add(Entry(chunk_id=cell.chunk_id, doc_id=cell.doc_id, quote=cell.sentence,
                                         locator=cell.locator, page=cell.page))
            st.toast("Añadido al cuaderno." if added else "Ya estaba en el cuaderno.")
    metas = kb.store.metas(cell.doc_id for cell in cells.values())
    heading = preset.title if preset else "Tabla comparativa"
    csv_col, md_col, xlsx_col = st.columns(3)
    csv_col.download_button("CSV", tables.to_csv(table), "comparacion.csv", "text/csv", key="tabla-csv")
    md_col.download_button("Markdown (APA)", tables.to_markdown(table, metas, heading), "comparacion.md",
                           "text/markdown", key="tabla-md")
    xlsx_col.download_button("XLSX", tables.to_xlsx(table, metas, heading), "comparacion.xlsx",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="tabla-xlsx")
    with st.expander("Guardar como tabla predefinida"):
        new_title = st.text_input("Título", key="nueva-tabla")
        if st.button("Guardar", key="guardar-tabla") and new_title.strip():
            from kb.cite.catalog import slugify

            saved = Preset(slugify(new_title), new_title.strip(), kind, tuple(chosen), tuple(aspects))
            save_preset(index_dir(), saved)
            st.success(f"Guardada como «{new_title.strip()}» ({saved.id}).")


# Biblioteca -------------------------------------------------------------------


def page_library() -> None:
    from kb.concepts.report import main_concepts

    kb = knowledge_base()
    documents = kb.store.documents()
    main = main_concepts(kb.store.concept_counts())
    rows = [{
        "documento": d.doc_id,
        "título": d.meta.title or "sin título",
        "autores": "; ".join(d.meta.authors) or "desconocidos",
        "año": str(d.meta.year) if d.meta.year else "s. f.",  # a missing year shows as APA writes it, not «None»
        "tipo": d.kind,
        "páginas": d.pages,
        "fragmentos": d.chunks,
        "conceptos principales": ", ".join(kb.taxonomy[c].label if c in kb.taxonomy else c
                                           for c, _ in main.get(d.doc_id, [])),
        "avisos": d.report or "",
    } for d in documents]
    st.subheader(f"Documentos ({len(documents)})")
    st.dataframe(rows, hide_index=True, width="stretch")
    upload_form()
    metadata_form(documents)


def upload_form() -> None:
    from ingest.pipeline import STATUS_LABELS, ingest
    from kb.library import MAX_UPLOAD_BYTES, save_upload

    st.subheader("Añadir documentos")
    files = st.file_uploader("PDF, TXT, MD, DOCX, ODT, EPUB o HTML",
                             type=["pdf", "txt", "md", "docx", "odt", "epub", "html", "htm"],
                             accept_multiple_files=True, key="subida",
                             max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024))
    for message in st.session_state.get("errores_subida", []):
        st.error(message)
    for message in st.session_state.get("avisos_ingesta", []):
        st.warning(message)
    if st.session_state.get("informe_ingesta"):
        st.dataframe(st.session_state["informe_ingesta"], hide_index=True, width="stretch")
    if not files or not st.button("Indexar", key="indexar"):
        return
    paths, errors = [], []
    for file in files:
        try:
            paths.append(save_upload(index_dir(), file.name, file.getvalue()))
        except KBError as error:
            errors.append(str(error))
    st.session_state["errores_subida"] = errors
    st.session_state["informe_ingesta"] = []
    if not paths:
        st.rerun()
    started = time.monotonic()
    bar = st.progress(0.0, text="Indexando: preparando el modelo de embeddings…")
    load_embedder().engine("passage")
    with writer() as kb:
        notices: list[str] = []
        summary = ingest(kb, load_embedder(), paths, progress=ingest_progress(bar, "Indexando", started),
                         notify=notices.append)
    st.session_state["avisos_ingesta"] = notices
    bar.progress(1.0, text="Listo.")
    # Shown after a rerun, so the table above and the lists include the new documents.
    st.session_state["informe_ingesta"] = [
        {"archivo": r.path.name, "resultado": STATUS_LABELS[r.status], "detalle": r.reason or ""}
        for r in summary.results] + [
        {"archivo": i.path.name, "resultado": "ignorado", "detalle": i.reason} for i in summary.ignored]
    st.rerun()


def metadata_form(documents) -> None:
    from kb.library import edit_metadata

    st.subheader("Editar metadatos")
    if not documents:
        return
    doc_id = st.selectbox("Documento", [d.doc_id for d in documents], key="editar_doc")
    meta = next(d.meta for d in documents if d.doc_id == doc_id)
    with st.form(f"meta-{doc_id}"):
        title = st.text_input("Título", meta.title or "", key=f"titulo-{doc_id}")
        authors = st.text_area("Autores (uno por línea, «Apellidos, Nombre»)", "\n".join(meta.authors),
                               key=f"autores-{doc_id}")
        year = st.text_input("Año", str(meta.year or ""), key=f"anio-{doc_id}")
        venue = st.text_input("Revista o editorial", meta.venue or "", key=f"revista-{doc_id}")
        doi = st.text_input("DOI", meta.doi or "", key=f"doi-{doc_id}")
        if not st.form_submit_button("Guardar en el catálogo"):
            return
    if year.strip() and not year.strip().isdigit():
        st.error(f"Año no válido: {year!r} (escriba solo el número, p. ej. 1998, o déjelo vacío).")
        return
    try:
        with writer() as kb:
            edit_metadata(kb, doc_id, title=title, authors=authors.splitlines(), year=year.strip(), venue=venue,
                          doi=doi)
    except KBError as error:
        st.error(str(error))
        return
    st.success(f"Metadatos de {doc_id} guardados en el catálogo.")


# Conceptos --------------------------------------------------------------------


def page_concepts() -> None:
    import altair as alt

    from kb.concepts.report import concept_matrix, concept_report

    kb = knowledge_base()
    matrix = concept_matrix(kb)
    labels = {row["id"]: row["label"] for row in matrix}
    cells = [{"concepto": row["label"], "id": row["id"], "documento": doc, "pasajes": n}
             for row in matrix for doc, n in row["documents"].items()]
    st.subheader("Concepto × documento")
    heat = alt.Chart(alt.Data(values=cells)).mark_rect().encode(
        x=alt.X("documento:N", title=None), y=alt.Y("concepto:N", title=None),
        color=alt.Color("pasajes:Q", scale=alt.Scale(scheme="blues")),
        tooltip=["concepto:N", "documento:N", "pasajes:Q"],
    ).add_params(alt.selection_point(name="celda", fields=["id", "documento"]))
    event = st.altair_chart(heat, on_select="rerun", key="mapa", width="stretch")
    picked = (event.selection.get("celda") or [{}])[0] if event and event.selection else {}
    if picked.get("id") in labels:
        st.session_state["ver_concepto"] = labels[picked["id"]]
    by_label = {label: cid for cid, label in labels.items()}
    label = st.selectbox("Concepto", sorted(by_label, key=str.lower), key="ver_concepto", bind="query-params")
    report = concept_report(kb, by_label[label], k=5)
    c = report.concept
    st.markdown(f"### {lit(c.label)}", unsafe_allow_html=True)
    st.markdown(f"<i>{lit(c.framework)}</i> · {lit(c.definition)}", unsafe_allow_html=True)
    st.markdown(f"<small>Alias: {lit(', '.join(c.aliases) or '—')} · Autores: {lit(', '.join(c.authors) or '—')}"
                f"</small>", unsafe_allow_html=True)
    if report.documents:
        st.bar_chart({"pasajes": report.documents}, horizontal=True)
    else:
        st.info("Ningún pasaje del índice trata este concepto.")
    for number, passage in enumerate(report.passages, 1):
        with st.container(border=True):
            st.markdown(f"<b>[{number}] {lit(passage.citation)}</b><br><div class='pasaje'>{lit(passage.text)}</div>",
                        unsafe_allow_html=True)


# Cuaderno ---------------------------------------------------------------------


def page_notebook() -> None:
    from kb.cite import exports

    kb = knowledge_base()
    book = notebook()
    entries = book.entries()
    st.subheader(f"Cuaderno de citas ({len(entries)})")
    if not entries:
        st.info("Aún no hay pasajes guardados: use «Añadir al cuaderno» en los resultados de búsqueda.")
        return
    metas = kb.store.metas(e.doc_id for e in entries)
    for i, entry in enumerate(entries):
        with st.container(border=True):
            from kb.cite.apa import apa_in_text

            meta = metas.get(entry.doc_id)
            where = apa_in_text(meta, entry.doc_id, entry.locator) if meta else entry.doc_id
            st.markdown(f"<div class='pasaje'>«{lit(entry.quote)}»</div><b>{lit(where)}</b>",
                        unsafe_allow_html=True)
            note = st.text_area("Nota", entry.note, key=f"nota-{i}")
            save, remove = st.columns(2)
            if save.button("Guardar nota", key=f"guardar-{i}"):
                book.set_note(entry.chunk_id, note)
                st.toast("Nota guardada.")
            if remove.button("Quitar", key=f"quitar-{i}"):
                book.remove(entry.chunk_id, entry.quote)
                st.rerun()
    st.subheader("Exportar")
    entries = book.entries()
    columns = st.columns(5)
    formats = [
        ("Markdown (APA)", exports.to_markdown, "cuaderno.md", "text/markdown"),
        ("DOCX (APA)", exports.to_docx, "cuaderno.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("BibTeX", exports.to_bibtex, "cuaderno.bib", "application/x-bibtex"),
        ("RIS", exports.to_ris, "cuaderno.ris", "application/x-research-info-systems"),
        ("CSV", exports.to_csv, "cuaderno.csv", "text/csv"),
    ]
    for column, (label, export, name, mime) in zip(columns, formats):
        column.download_button(label, export(entries, metas), file_name=name, mime=mime, key=f"exportar-{name}")


# main -------------------------------------------------------------------------

PAGES = [  # (function, title, address): the navigation, in the sidebar
    (page_search, "Buscar", "buscar"),
    (page_compare, "Comparar", "comparar"),
    (page_library, "Biblioteca", "biblioteca"),
    (page_concepts, "Conceptos", "conceptos"),
    (page_notebook, "Cuaderno", "cuaderno"),
]


def main() -> None:
    navigation = st.navigation([st.Page(function, title=title, url_path=path, default=function is page_search)
                                for function, title, path in PAGES])
    st.sidebar.title("kb")
    st.sidebar.caption("Literatura y políticas de desarrollo productivo, con citas.")
    st.sidebar.caption(f"Índice: {html.escape(str(index_dir()))}")
    try:
        navigation.run()
    except KBError as error:
        st.error(str(error))


main()
