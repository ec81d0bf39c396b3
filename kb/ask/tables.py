"""Comparison tables as CSV and as Markdown with an APA reference list."""

from __future__ import annotations

import csv
import io

from kb.ask.compare import Table, empty_text
from kb.cite.apa import apa_reference, sort_key
from kb.cite.exports import EXCEL_BOM
from kb.records import DocumentMeta


def to_csv(table: Table) -> str:
    out = io.StringIO()
    out.write(EXCEL_BOM)
    writer = csv.writer(out)
    writer.writerow(["aspecto", "columna", "oración", "cita", "documento", "página", "puntuación"])
    for aspect, row in zip(table.aspects, table.cells):
        for column, cell in zip(table.columns, row):
            if cell is None:
                writer.writerow([aspect.label, column.label, empty_text(column), "", "", "", ""])
            else:
                writer.writerow([aspect.label, column.label, cell.sentence, cell.citation, cell.doc_id,
                                 "" if cell.page is None else cell.page, f"{cell.score:.3f}"])
    return out.getvalue()


def to_markdown(table: Table, metas: dict[str, DocumentMeta], title: str = "") -> str:
    def escape(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [f"# {title}", ""] if title else []
    lines.append("| aspecto | " + " | ".join(escape(c.label) for c in table.columns) + " |")
    lines.append("|---" * (len(table.columns) + 1) + "|")
    for aspect, row in zip(table.aspects, table.cells):
        cells = [f"*{empty_text(column)}*" if c is None else f"«{escape(c.sentence)}» ({escape(c.citation)})"
                 for column, c in zip(table.columns, row)]
        lines.append(f"| {escape(aspect.label)} | " + " | ".join(cells) + " |")
    cited = {c.doc_id for row in table.cells for c in row if c is not None}
    if cited:
        lines += ["", "## Referencias", ""]
        for doc_id in sorted(cited, key=lambda d: sort_key(metas[d], d)):
            lines.append(apa_reference(metas[doc_id], doc_id, markdown=True))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_xlsx(table: Table, metas: dict[str, DocumentMeta], title: str = "") -> bytes:
    """A workbook: the table (quotes with their citations) and a sheet of APA references."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Comparación"
    sheet.append(["aspecto", *[c.label for c in table.columns]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for aspect, row in zip(table.aspects, table.cells):
        sheet.append([aspect.label, *[empty_text(column) if c is None else f"«{' '.join(c.sentence.split())}» ({c.citation})"
                                      for column, c in zip(table.columns, row)]])
    for column in sheet.iter_cols(min_col=2):
        sheet.column_dimensions[column[0].column_letter].width = 60
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    references = book.create_sheet("Referencias")
    cited = {c.doc_id for row in table.cells for c in row if c is not None}
    for doc_id in sorted(cited, key=lambda d: sort_key(metas[d], d)):
        references.append([apa_reference(metas[doc_id], doc_id)])
    if title:
        book.properties.title = title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
