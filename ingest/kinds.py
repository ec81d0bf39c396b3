"""What a passage is: body text, or a reference list, table of contents, index,
front matter or an unreadable OCR layer (the names are `kb.records.PASSAGE_KINDS`).

Only body text is searched, answered from, compared and tagged by default: a
bibliography shares every name and title with the body ("Becattini ... distrito
industrial"), so BM25 ranks it first for an author's name, and a scanned page's
garbled OCR text is nearest in vector space to any nonsense query.
Thresholds were set on the bundled corpus and ../shared/real-pdfs.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kb.records import Chunk

# Bumped whenever a rule below changes: stored passages are classified again.
VERSION = "1"

_REFERENCES = re.compile(
    r"^\W*(?:[\dIVX]+(?:\.\d+)*\.?\s+)?(?:referencias(?: bibliogr[aá]ficas)?|bibliograf[ií]a(?: citada| consultada)?|"
    r"obras citadas|literatura citada|fuentes (?:consultadas|bibliogr[aá]ficas)|references|bibliography|"
    r"works cited)\W*$", re.IGNORECASE)
_CONTENTS = re.compile(r"^\W*(?:índice(?: general| de contenidos?)?|contenidos?|tabla de contenidos?|"
                       r"table of contents|contents|sumario)\W*$", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:1[89]\d\d|20[0-4]\d)[a-z]?\b")
_U = "A-ZÁÉÍÓÚÑÜ"
# Where a reference begins: "Porter, M.E., 1990.", "Alonso, J. A. y Garcimartin, C. (2008):",
# "BIELSCHOWSKY Ricardo (Compilador) (2010).", "______ (1974).", "Banco Mundial (2005):".
_ENTRY = re.compile(
    rf"(?:^|(?<=[.\]]\s))(?:[{_U}][\w'’\-]+(?: [{_U}][\w'’\-]+)?,\s?(?:[{_U}]\.\s?-?)+"
    rf"[^\n]{{0,90}}?\b(?:1[89]|20)\d\d"
    rf"|[{_U}]{{3,}}(?: [{_U}]{{2,}})*,? [{_U}][a-záéíóúñ]+[^\n(]{{0,60}}(?:\([^)]{{0,30}}\)\s*)?"
    rf"\((?:1[89]|20)\d\d"
    rf"|_{{4,}}\s*\((?:1[89]|20)\d\d"
    rf"|[{_U}][\w'’\-]+(?: [{_U}a-z][\w'’\-]+){{0,6}} \((?:1[89]|20)\d\d[a-z]?\)[.:])",
    re.MULTILINE)
WORDS_PER_REFERENCE = 45  # a reference list has a new entry every 20-40 words; body text far fewer
_TOC_ENTRY = re.compile(r"\S.*?\s(?:\d{1,3}|[ivxlc]{1,6})$")
_INDEX_ENTRY = re.compile(r"^[^\d\n]{2,60},\s*\d{1,4}(?:\s*[-–,]\s*\d{1,4})*\.?$")
_FRONT = re.compile(r"\b(?:isbn|issn|copyright|©|todos los derechos reservados|all rights reserved|"
                    r"dep[óo]sito legal|impreso en|printed in|dise[ñn]o y diagramaci[óo]n|"
                    r"coordinaci[óo]n editorial|red de revistas cient[íi]ficas|"
                    r"sistema de informaci[óo]n cient[íi]fica|"
                    r"licencia creative commons)|[\w.\-]+@[\w\-]+\.[\w.]+", re.IGNORECASE)
# What OCR makes of a word it cannot read: "<lev4^o{^i^EC", "ecoiMmiic", "S<mie", "«d»".
_GARBLED = re.compile(r"[\^<>{}|~\\@#$*»«‘’'\"]|[a-záéíóúñ][A-ZÁÉÍÓÚÑ]|[^\W\d_]\d|\d[^\W\d_]")
_ORDINARY_MIX = re.compile(r"\d+[a-zº°ª]{1,2}|[A-Z]+\d+[a-z]?|[a-z]+[A-Z]+s?")  # "3er", "P1", "ODS4", "mipYMEs"

# Garbled words among a passage's words: the seers scan's OCR layer scores 0.10–0.37 on
# every passage; the other PDFs and texts at most 0.08 (one chunk of formulas, 0.13).
MAX_GARBLED_SHARE = 0.09
MIN_WORDS_FOR_OCR_TEST = 25


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _is_reference_list(text: str) -> bool:
    entries = len(_ENTRY.findall(text))
    return entries >= 1 and entries * WORDS_PER_REFERENCE >= len(text.split())


def _share(lines: list[str], pattern: re.Pattern[str]) -> float:
    return sum(bool(pattern.match(line)) for line in lines) / len(lines) if lines else 0.0


def is_ocr_junk(text: str) -> bool:
    tokens = [t for t in (w.strip(".,;:()«»\"“”¿?¡!") for w in text.split()) if t]
    if len(tokens) < MIN_WORDS_FOR_OCR_TEST:
        return False
    garbled = sum(bool(_GARBLED.search(t)) and not _ORDINARY_MIX.fullmatch(t) for t in tokens)
    return garbled / len(tokens) > MAX_GARBLED_SHARE


def passage_kind(text: str, section: str | None) -> str:
    """The kind of one passage, from its text and the heading of its section."""
    lines = _lines(text)
    if len(lines) >= 4 and _share(lines, _INDEX_ENTRY) >= 0.6:
        return "index"
    if section and _CONTENTS.match(section) or _share(lines, _TOC_ENTRY) >= 0.6 and len(lines) >= 4:
        return "toc"
    if section and _REFERENCES.match(section) and _YEAR.search(text) or _is_reference_list(text):
        return "bibliography"
    if len(_FRONT.findall(text)) >= 2 or (_FRONT.search(text) and len(text.split()) < 60):
        return "front"
    if is_ocr_junk(text):
        return "ocr-junk"
    return "body"


def classify(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks, each with its kind set."""
    return [replace(chunk, kind=passage_kind(chunk.text, chunk.section)) for chunk in chunks]
