"""Split clean pages into passages that follow the document's structure.

The paragraph is the unit: a paragraph of `min_words`–`max_words` words is one
chunk; a longer one is split at sentence boundaries into near-equal parts; a
shorter one joins its neighbours in the same section until the chunk is long
enough. A chunk never crosses a section heading (the heading opens the chunk
that follows it), and crosses a page only where a paragraph continues on the
next page. Whole paragraphs keep one topic per vector: packing paragraphs into
fixed-size windows made a quarter of the chunks mix two.

A chunk's text is an exact slice of the clean page text (joined with a blank
line where it crosses a page), so a quote can always be found again in its page.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from kb.records import Chunk, CleanPage
from kb.text.sentences import split_sentences

# Bumped whenever chunk boundaries change: stored indexes are chunked and embedded again once.
VERSION = "2"
MIN_WORDS, MAX_WORDS = 50, 250

_WORD = re.compile(r"\S+")
_HEADING = re.compile(
    r"^(?:(?:\d+(?:\.\d+)*|[IVXLC]+)[.)]?\s+)?[A-ZÁÉÍÓÚÑÜ¿¡][^\n]{0,100}$"
)
# "B. Alejamiento del concepto de sector (Ambos modelos abandonan…)." is a heading
# although it ends in a period: a letter or number, then a capitalised title.
_ENUMERATED = re.compile(r"^(?:[A-H]|\d+(?:\.\d+)*)[.)]\s+[A-ZÁÉÍÓÚÑ¿¡][^.!?]*[.)]*$")
# A page that ends without closing its sentence continues on the next page.
_OPEN_END = re.compile(r"[^.!?:;»”\")\]]$")


@dataclass(frozen=True)
class _Unit:
    """A sentence, located in its page."""

    page: int  # index into the list of pages
    paragraph: int  # 1-based, counted over the whole document
    start: int
    end: int
    words: int


@dataclass
class _Paragraph:
    units: list[_Unit]
    section: str | None
    heading: bool

    @property
    def words(self) -> int:
        return sum(u.words for u in self.units)


def is_heading_paragraph(paragraph: str) -> bool:
    """Short, unpunctuated, capitalised lines such as "1. Introducción" or "RESUMEN"."""
    words = paragraph.split()
    if not words or "\n" in paragraph.strip():
        return False
    if len(words) <= 25 and _ENUMERATED.match(paragraph.strip()):
        return True
    return (
        len(words) <= 12
        and not paragraph.rstrip().endswith((".", ",", ";", ":"))
        and bool(_HEADING.match(paragraph.strip()))
    )


def _spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]*)*", text):
        start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
        end = match.start() + len(match.group(0).rstrip())
        if end > start:
            spans.append((start, end))
    return spans


def numbered_paragraphs(pages: list[CleanPage]) -> list[tuple[int, str]]:
    """Each paragraph of the usable pages with the number citations give it ("párr. 12")."""
    usable = [p for p in pages if p.status == "ok" and p.text.strip()]
    spans = [page.text[start:end] for page in usable for start, end in _spans(page.text)]
    return list(enumerate(spans, start=1))


def _paragraphs(pages: list[CleanPage], max_words: int) -> list[_Paragraph]:
    paragraphs: list[_Paragraph] = []
    number, section = 0, None
    for index, page in enumerate(pages):
        for first_on_page, (p_start, p_end) in enumerate(_spans(page.text)):
            number += 1
            body = page.text[p_start:p_end]
            heading = is_heading_paragraph(body)
            if heading:
                section = " ".join(body.split())
            units = [
                _Unit(index, number, p_start + s, p_start + e, len(body[s:e].split()))
                for sent_start, sent_end in split_sentences(body)
                for s, e in _bounded(body, sent_start, sent_end, max_words)
            ]
            previous = paragraphs[-1] if paragraphs else None
            if (first_on_page == 0 and previous is not None and not heading and not previous.heading
                    and previous.units[-1].page == index - 1 and body[:1].islower()
                    and _OPEN_END.search(pages[index - 1].text.rstrip())):
                previous.units += units  # the paragraph continues from the previous page
            else:
                paragraphs.append(_Paragraph(units, section, heading))
    return paragraphs


def _bounded(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Split a "sentence" longer than `max_words` (a flattened table, a list
    without punctuation) at word boundaries; real sentences are never this long."""
    words = list(_WORD.finditer(text, start, end))
    if len(words) <= max_words:
        return [(start, end)]
    return [
        (words[i].start(), words[min(i + max_words, len(words)) - 1].end())
        for i in range(0, len(words), max_words)
    ]


def _split(units: list[_Unit], max_words: int) -> list[list[_Unit]]:
    """A long paragraph's sentences in the fewest near-equal parts of at most `max_words`."""
    total = sum(u.words for u in units)
    target = total / math.ceil(total / max_words)
    parts: list[list[_Unit]] = [[]]
    size = done = 0
    for unit in units:
        # Cut where the running total passes a multiple of the target, not where
        # each part reaches it: rounding then cannot leave a short last part.
        if parts[-1] and (size + unit.words > max_words or done + unit.words / 2 > target * len(parts)):
            parts.append([])
            size = 0
        parts[-1].append(unit)
        size += unit.words
        done += unit.words
    return parts


def chunk_pages(doc_id: str, pages: list[CleanPage], *, min_words: int = MIN_WORDS,
                max_words: int = MAX_WORDS) -> list[Chunk]:
    """The chunks of the pages whose status is "ok" (see the module's docstring)."""
    usable = [p for p in pages if p.status == "ok" and p.text.strip()]
    groups: list[tuple[list[_Unit], str | None]] = []
    pending: list[_Unit] = []
    pending_section: str | None = None
    only_headings = True

    def close() -> None:
        nonlocal pending, only_headings
        size = sum(u.words for u in pending)
        if pending and not only_headings and size < min_words and groups:
            # A short tail of its section joins the chunk before it: "En ambos casos el
            # sector…" and the bullet after it, «Becattini traslada…», stay together.
            last, section = groups[-1]
            if (section == pending_section and last[-1].page == pending[0].page
                    and sum(u.words for u in last) + size <= max_words):
                groups[-1] = (last + pending, section)
                pending, only_headings = [], True
                return
        if pending:
            groups.append((pending, pending_section))
        pending, only_headings = [], True

    for paragraph in _paragraphs(usable, max_words):
        if not paragraph.units:
            continue
        size, words = sum(u.words for u in pending), paragraph.words
        if paragraph.heading:
            # A heading opens the chunk after it; headings in a row on one page stay together.
            other_page = bool(pending) and pending[-1].page != paragraph.units[0].page
            if not only_headings or size + words > max_words or other_page:
                close()
            if words <= max_words:
                pending += paragraph.units
                pending_section = paragraph.section
                continue
        joins = pending and paragraph.section == pending_section and (
            only_headings or (size < min_words and size + words <= max_words
                              and pending[-1].page == paragraph.units[0].page))
        if not joins:
            close()
            size = 0
        pending_section = paragraph.section
        if size + words > max_words:  # a long paragraph, after at most its section's heading
            if size >= max_words // 2 or max(u.words for u in paragraph.units) > max_words - size:
                close()
                size = 0
            parts = _split(paragraph.units, max_words - size)
            pending += parts[0]
            for part in parts[1:]:
                close()
                pending = part
            only_headings = False
            if sum(u.words for u in pending) >= min_words:
                close()
            continue
        pending += paragraph.units
        only_headings = False
        if size + words >= min_words:
            close()
    close()
    return _number(doc_id, usable, groups)


def _number(doc_id: str, pages: list[CleanPage], groups: list[tuple[list[_Unit], str | None]]) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for ordinal, (group, section) in enumerate(groups, 1):
        first, last = group[0], group[-1]
        if first.page == last.page:
            text = pages[first.page].text[first.start : last.end]
        else:
            parts = [pages[first.page].text[first.start :]]
            parts += [pages[i].text for i in range(first.page + 1, last.page)]
            parts.append(pages[last.page].text[: last.end])
            text = "\n\n".join(part.strip() for part in parts)
        digest = hashlib.sha1(f"{doc_id}\0{text}".encode()).hexdigest()[:12]
        seen[digest] = seen.get(digest, 0) + 1
        chunk_id = f"{doc_id}:{digest}" + (f"-{seen[digest]}" if seen[digest] > 1 else "")
        chunks.append(Chunk(
            doc_id=doc_id, ordinal=ordinal, chunk_id=chunk_id, text=text,
            page_start=pages[first.page].number, page_end=pages[last.page].number,
            start=first.start, end=last.end,
            paragraph_start=first.paragraph, paragraph_end=last.paragraph,
            section=section,
        ))
    return chunks
