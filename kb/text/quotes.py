"""Sentences of a passage that can be quoted, and where they are in the source page.

Shared by the extractive answer and the comparison tables: both quote single
sentences verbatim, by the same rule of what may be quoted, and only after
finding them again in the page's clean text.
"""

from __future__ import annotations

import re

from kb.records import ChunkRow
from kb.text.sentences import ABBREVIATIONS, split_sentences

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# Shorter "sentences" are headings or fragments; longer ones are flattened tables or
# lists. Tuned, like the rest of quotable(), on the comparison's judged cells.
MIN_WORDS, MAX_WORDS = 5, 80
BULLETS = "*•-–·》> \t"  # a list item's marker, not part of its sentence
# A quotable sentence ends as one: a heading or a sentence cut by a page break does not.
COMPLETE = re.compile(r"[.!?…][»”\"')\]]*\d{0,3}$")
# A footnote: its number, then its text ("1 Se exponen aquí…").
_FOOTNOTE = re.compile(r"^\d{1,3}\.?\s+[A-ZÁÉÍÓÚÑ]")
# A period, then a word in lowercase: the sentence splitter did not end the sentence
# there, so two pieces of text were glued by extraction ("…de Prato en Italia. de
# transformación productiva…": a footnote in the middle of a sentence of the body).
_GLUED = re.compile(r"(\S+)\.\s+[a-záéíóúñü]")
# A list item's number or letter: "2) Superar la desconexión…" closes no parenthesis.
_ENUMERATOR = re.compile(r"^\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,4})\)\s")
# Captions and source lines describe a figure; they state nothing to quote.
_CAPTION = re.compile(r"^(ilustración|gráfico|figura|fig\.|tabla|cuadro|mapa|diagrama|fuente|nota)\b[^:.]{0,12}[:.]",
                     re.IGNORECASE)


def glued(sentence: str) -> bool:
    """Whether `sentence` is two fragments joined across a footnote or a column: quoting
    it would put words in the source's mouth that it never wrote together."""
    for match in _GLUED.finditer(sentence):
        word = match.group(1).lstrip("(«“\"'").lower()
        if word not in ABBREVIATIONS and not (len(word) == 1 and word.isalpha()) and "." not in word:
            return True
    return False


def unopened(sentence: str) -> bool:
    """Whether `sentence` closes a bracket it never opened: it began inside a parenthesis
    of an earlier sentence ("…(En ambos casos se recurre a formas reticulares…. Sin
    embargo, hay una diferente percepción… de las empresas)."), and alone it would be
    quoted with a stray bracket."""
    if ")" not in sentence and "]" not in sentence:
        return False
    depth = 0
    for ch in _ENUMERATOR.sub("", sentence, count=1):
        depth += (ch in "([") - (ch in ")]")
        if depth < 0:
            return True
    return False


def quotable(sentence: str) -> bool:
    """Whether the answer or a comparison cell may quote `sentence`: a whole one (a
    list item may end in a semicolon), not a heading, caption or footnote, and not a
    flattened list. A cut, glued or half-bracketed sentence would misquote its source."""
    body = sentence.lstrip(BULLETS).rstrip()
    return (MIN_WORDS <= len(sentence.split()) <= MAX_WORDS and not _FOOTNOTE.match(sentence)
            and not _CAPTION.match(body) and not body[:1].islower() and not glued(body) and not unopened(body)
            and (COMPLETE.search(body) is not None or body.endswith(";")))


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a chunk. A paragraph break ends a sentence (a heading before
    a paragraph has no period) unless the text before it is unfinished and the text
    after it goes on in lowercase: extraction leaves blank lines inside sentences
    ("…en el caso del distrito o de un\n\nagrupamiento territorial…"). A sentence
    joined across a page break is not found in either page, so it is never quoted."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        for s, e in split_sentences(text[start:end]):
            s, e = start + s, start + e
            if spans and spans[-1][1] <= start and not COMPLETE.search(text[spans[-1][0]:spans[-1][1]]) \
                    and text[s:s + 1].islower():
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        start = match.end() if match else end
    return spans


def locate(sentence: str, chunk: ChunkRow, pages: list) -> tuple[int, int, int] | None:
    """(page index, start, end) of `sentence` in the clean text of one of the
    chunk's pages; whitespace may differ (chunks join pages with a blank line)."""
    indexes = [i for i, page in enumerate(pages)
               if chunk.page_start is None or (page.number is not None and chunk.page_start <= page.number
                                               <= (chunk.page_end or chunk.page_start))]
    loose = re.compile(r"\s+".join(map(re.escape, sentence.split())))
    for index in indexes:
        text = pages[index].text
        # Start from the passage itself: the same sentence may also appear earlier in the page.
        anchor = max(text.find(chunk.text[:120]), 0) if index == indexes[0] else 0
        for origin in (anchor, 0):
            start = text.find(sentence, origin)
            if start >= 0:
                return index, start, start + len(sentence)
            match = loose.search(text, origin)
            if match:
                return index, match.start(), match.end()
    return None
