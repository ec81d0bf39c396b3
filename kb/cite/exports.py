"""Exports of the citation notebook: Markdown, Word (.docx), BibTeX, RIS and CSV.

Every export takes the entries and the catalog metadata by doc_id; a document
without metadata is exported with what is known (its id), never with guesses.
"""

from __future__ import annotations

import csv
import io
import re

from kb.cite.apa import (
    apa_in_text,
    apa_in_text_parts,
    apa_reference,
    apa_reference_parts,
    doi_of,
    sort_key,
)
from kb.cite.notebook import Entry
from kb.records import DocumentMeta

NOTEBOOK_TITLE = "Cuaderno de citas"
REFERENCES_TITLE = "Referencias"
EMPTY_NOTEBOOK = "El cuaderno no tiene citas."
NOTE_LABEL = "Nota"
CSV_COLUMNS = ["doc_id", "cita", "referencia", "ubicación", "página", "cita_textual", "nota", "añadido"]

_BIBTEX_SPECIAL = re.compile(r"[\\{}%&#$_~^]")
_BIBTEX_ESCAPES = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_BIBTEX_KEY = re.compile(r"[^A-Za-z0-9_:.-]+")
_PAGE_DASH = re.compile(r"(?<=\d)\s*[-‐‑–—]+\s*(?=\d)")
# Characters XML 1.0 forbids (form feeds and other controls left by PDF extraction).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def to_markdown(entries: list[Entry], metas: dict[str, DocumentMeta]) -> str:
    lines = [f"# {NOTEBOOK_TITLE}", ""]
    if not entries:
        return "\n".join([*lines, EMPTY_NOTEBOOK, ""])
    for entry in entries:
        meta = _meta(metas, entry.doc_id)
        lines += [f"> {line}" if line.strip() else ">" for line in entry.quote.strip().splitlines()]
        lines += ["", apa_in_text(meta, entry.doc_id, entry.locator, markdown=True), ""]
        if entry.note.strip():
            lines += [f"{NOTE_LABEL}: {entry.note.strip()}", ""]
    lines += [f"## {REFERENCES_TITLE}", ""]
    for doc_id in _documents(entries, metas):
        lines += [apa_reference(_meta(metas, doc_id), doc_id, markdown=True), ""]
    return "\n".join(lines)


def to_docx(entries: list[Entry], metas: dict[str, DocumentMeta]) -> bytes:
    # Imported here so the rest of kb works without python-docx installed.
    from docx import Document
    from docx.shared import Inches

    document = Document()
    document.add_heading(NOTEBOOK_TITLE, level=1)
    if not entries:
        document.add_paragraph(EMPTY_NOTEBOOK)
    for entry in entries:
        meta = _meta(metas, entry.doc_id)
        document.add_paragraph(_xml_safe(entry.quote.strip()), style="Quote")
        _add_runs(document.add_paragraph(), apa_in_text_parts(meta, entry.doc_id, entry.locator))
        if entry.note.strip():
            document.add_paragraph(_xml_safe(f"{NOTE_LABEL}: {entry.note.strip()}"))
    if entries:
        document.add_heading(REFERENCES_TITLE, level=2)
    for doc_id in _documents(entries, metas):
        paragraph = document.add_paragraph()
        # APA's hanging indent: the first line at the margin, the rest 0.5 in in.
        paragraph.paragraph_format.left_indent = Inches(0.5)
        paragraph.paragraph_format.first_line_indent = Inches(-0.5)
        _add_runs(paragraph, apa_reference_parts(_meta(metas, doc_id), doc_id))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def to_bibtex(entries: list[Entry], metas: dict[str, DocumentMeta]) -> str:
    return "\n".join(_bibtex_entry(_meta(metas, d), d) for d in _documents(entries, metas))


def to_ris(entries: list[Entry], metas: dict[str, DocumentMeta]) -> str:
    return "\n".join(_ris_record(_meta(metas, d)) for d in _documents(entries, metas))


# Excel reads a CSV file without a byte order mark as the system's code page, and
# shows «cooperaciÃ³n»; with it, as UTF-8. Other readers skip it (Python: utf-8-sig).
EXCEL_BOM = "\ufeff"


def to_csv(entries: list[Entry], metas: dict[str, DocumentMeta]) -> str:
    buffer = io.StringIO(newline="")
    buffer.write(EXCEL_BOM)
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        meta = _meta(metas, entry.doc_id)
        writer.writerow([
            entry.doc_id,
            apa_in_text(meta, entry.doc_id, entry.locator),
            apa_reference(meta, entry.doc_id),
            entry.locator,
            "" if entry.page is None else entry.page,
            entry.quote,
            entry.note,
            entry.added,
        ])
    return buffer.getvalue()


def bibtex_key(doc_id: str) -> str:
    return _BIBTEX_KEY.sub("-", doc_id).strip("-") or "documento"


def _bibtex_entry(meta: DocumentMeta, doc_id: str) -> str:
    kind = "article" if meta.venue else "misc"
    fields: list[tuple[str, str]] = []
    if meta.authors:
        fields.append(("author", " and ".join(_bibtex_name(a) for a in meta.authors)))
    for name, value in [("title", meta.title), ("journal", meta.venue), ("year", meta.year),
                        ("volume", meta.volume), ("number", meta.issue)]:
        if value:
            fields.append((name, _bibtex_escape(str(value))))
    if meta.pages:
        fields.append(("pages", _bibtex_escape(_PAGE_DASH.sub("--", meta.pages.strip()))))
    doi = doi_of(meta)
    if doi:
        # doi is a verbatim field for biblatex: escaping would change the identifier.
        fields.append(("doi", doi))
    for name, value in [("publisher", meta.publisher), ("issn", meta.issn), ("note", meta.note)]:
        if value:
            fields.append((name, _bibtex_escape(value)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{bibtex_key(doc_id)},\n{body}\n}}\n" if body else f"@{kind}{{{bibtex_key(doc_id)},\n}}\n"


def _bibtex_name(author: str) -> str:
    name = _bibtex_escape(" ".join(author.split()))
    # A group author ("CEPAL") is braced so BibTeX does not split it into first and last names.
    return name if "," in author else f"{{{name}}}"


def _bibtex_escape(text: str) -> str:
    text = " ".join(text.split())
    return _BIBTEX_SPECIAL.sub(lambda m: _BIBTEX_ESCAPES.get(m.group(), "\\" + m.group()), text)


def _ris_record(meta: DocumentMeta) -> str:
    lines = [("TY", "JOUR" if meta.venue else "GEN")]
    lines += [("AU", author) for author in meta.authors]
    lines += [(tag, value) for tag, value in [
        ("PY", str(meta.year) if meta.year else None), ("TI", meta.title), ("T2", meta.venue),
        ("VL", meta.volume), ("IS", meta.issue),
    ] if value]
    if meta.pages:
        start, _, end = _PAGE_DASH.sub("\0", meta.pages.strip()).partition("\0")
        lines.append(("SP", start))
        if end:
            lines.append(("EP", end))
    lines += [(tag, value) for tag, value in [
        ("DO", doi_of(meta)), ("PB", meta.publisher), ("SN", meta.issn), ("N1", meta.note),
    ] if value]
    lines.append(("ER", ""))
    # A RIS value is one line: a line break inside it would start a bogus tag.
    return "".join(f"{tag}  - {' '.join(value.split())}\n" for tag, value in lines)


def _documents(entries: list[Entry], metas: dict[str, DocumentMeta]) -> list[str]:
    """Each cited document once, in APA reference-list order."""
    ids = dict.fromkeys(e.doc_id for e in entries)
    return sorted(ids, key=lambda d: sort_key(_meta(metas, d), d))


def _meta(metas: dict[str, DocumentMeta], doc_id: str) -> DocumentMeta:
    return metas.get(doc_id) or DocumentMeta()


def _add_runs(paragraph, parts: list[tuple[str, bool]]) -> None:
    for text, italic in parts:
        paragraph.add_run(_xml_safe(text)).italic = italic or None


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(" ", text)
