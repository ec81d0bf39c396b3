"""Small Word, OpenDocument and EPUB files built in memory: no binary sample is committed.

Each holds only the parts kb reads, laid out as Word, LibreOffice and EPUB
tools write them (a Spanish Word names its heading styles "Ttulo1").
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

WORD_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W}">
  <w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
  <w:style w:type="paragraph" w:styleId="Ttulo"><w:name w:val="Title"/><w:basedOn w:val="Normal"/></w:style>
  <w:style w:type="paragraph" w:styleId="Ttulo1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/>
    <w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
  <w:style w:type="paragraph" w:styleId="Prrafodelista"><w:name w:val="List Paragraph"/></w:style>
  <w:style w:type="paragraph" w:styleId="TDC1"><w:name w:val="toc 1"/></w:style>
</w:styles>"""


def word_paragraph(text: str, style: str | None = None, *, numbered: bool = False, runs: str = "") -> str:
    """A w:p with one run of `text` (escaped), then `runs` as raw XML."""
    properties = ""
    if style or numbered:
        numbering = '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>' if numbered else ""
        style_xml = f'<w:pStyle w:val="{style}"/>' if style else ""
        properties = f"<w:pPr>{style_xml}{numbering}</w:pPr>"
    run = f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r>' if text else ""
    return f"<w:p>{properties}{run}{runs}</w:p>"


def word_table(rows: list[list[str]]) -> str:
    cells = ("".join(f"<w:tc>{word_paragraph(cell)}</w:tc>" for cell in row) for row in rows)
    return "<w:tbl>" + "".join(f"<w:tr>{row}</w:tr>" for row in cells) + "</w:tbl>"


def docx_bytes(body: str, *, title: str | None = None, creator: str | None = None, footnotes: list[str] = ()) -> bytes:
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<w:document xmlns:w="{W}"><w:body>{body}<w:sectPr/></w:body></w:document>')
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"/>',
        "word/document.xml": document,
        "word/styles.xml": WORD_STYLES,
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp="http://'
            'schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/'
            'elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">'
            + (f"<dc:title>{escape(title)}</dc:title>" if title else "")
            + (f"<dc:creator>{escape(creator)}</dc:creator>" if creator else "")
            + '<dcterms:created>2021-03-04T10:00:00Z</dcterms:created></cp:coreProperties>'),
    }
    if footnotes:
        notes = "".join(f'<w:footnote w:id="{i}">{word_paragraph(text)}</w:footnote>'
                        for i, text in enumerate(footnotes, start=1))
        parts["word/footnotes.xml"] = (f'<w:footnotes xmlns:w="{W}"><w:footnote w:type="separator" w:id="-1">'
                                       f'<w:p><w:r><w:separator/></w:r></w:p></w:footnote>{notes}</w:footnotes>')
    return _zip(parts)


ODF_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)


def odt_bytes(body: str, *, title: str | None = None, creator: str | None = None) -> bytes:
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ODF_NAMESPACES} office:version="1.3">'
               '<office:automatic-styles><style:style style:name="P1" style:family="paragraph" '
               'style:parent-style-name="Title"/></office:automatic-styles>'
               f'<office:body><office:text>{body}</office:text></office:body></office:document-content>')
    meta = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {ODF_NAMESPACES}><office:meta>'
            + (f"<dc:title>{escape(title)}</dc:title>" if title else "")
            + (f"<meta:initial-creator>{escape(creator)}</meta:initial-creator>" if creator else "")
            + "<dc:creator>Usuario</dc:creator><meta:creation-date>2019-05-06T10:00:00</meta:creation-date>"
            + "</office:meta></office:document-meta>")
    return _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": content, "meta.xml": meta})


def xhtml(title: str, body: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
            f"<head><title>{escape(title)}</title></head><body>{body}</body></html>")


def epub_bytes(documents: dict[str, str], spine: list[str], *, title: str, creator: str,
               container: bool = True) -> bytes:
    """`documents` maps a file name under OEBPS/ to its XHTML, in manifest order;
    `spine` lists the reading order. A nav document is always added."""
    items = "".join(f'<item id="{_id(name)}" href="{name}" media-type="application/xhtml+xml"/>' for name in documents)
    refs = "".join(f'<itemref idref="{_id(name)}"/>' for name in spine)
    package = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
        'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:uuid:0</dc:identifier><dc:title>{escape(title)}</dc:title>'
        f'<dc:creator>{escape(creator)}</dc:creator><dc:language>es</dc:language></metadata>'
        f'<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{items}'
        f'</manifest><spine><itemref idref="nav"/>{refs}</spine></package>')
    parts = {"mimetype": "application/epub+zip", "OEBPS/content.opf": package,
             "OEBPS/nav.xhtml": xhtml("Índice", '<nav epub:type="toc"><ol><li>Capítulo de la tabla</li></ol></nav>'
                                               "<p>Índice general del libro</p>")}
    if container:
        parts["META-INF/container.xml"] = (
            '<?xml version="1.0"?>\n<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>")
    parts.update({f"OEBPS/{name}": text for name, text in documents.items()})
    return _zip(parts)


def _id(name: str) -> str:
    return "item-" + name.replace(".", "-").replace("/", "-")


def _zip(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            # The mimetype goes first and stored, as both formats require.
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, text.encode("utf-8"), compress_type=method)
    return buffer.getvalue()
