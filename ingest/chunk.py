"""Split clean pages into passages of whole sentences, each with its locator.

A chunk is a run of whole sentences of about `min_words`–`max_words` words,
preferring to end at a paragraph boundary, with the last `overlap` sentences of
one chunk repeated at the start of the next. Its text is an exact slice of the
clean page text (joined with a blank line where it crosses a page), so a quote
can always be found again in its page.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kb.records import Chunk, CleanPage
from kb.text.sentences import split_sentences

_WORD = re.compile(r"\S+")
_HEADING = re.compile(
    r"^(?:(?:\d+(?:\.\d+)*|[IVXLC]+)[.)]?\s+)?[A-ZÁÉÍÓÚÑÜ¿¡][^\n]{0,100}$"
)


@dataclass(frozen=True)
class _Unit:
    """A sentence, located in its page."""

    page: int  # index into the list of pages
    paragraph: int  # 1-based, counted over the whole document
    start: int
    end: int
    words: int
    last_in_paragraph: bool
    section: str | None


def is_heading_paragraph(paragraph: str) -> bool:
    """Short, unpunctuated, capitalised lines such as "1. Introducción" or "RESUMEN"."""
    words = paragraph.split()
    return (
        0 < len(words) <= 12
        and "\n" not in paragraph
        and not paragraph.rstrip().endswith((".", ",", ";", ":"))
        and bool(_HEADING.match(paragraph.strip()))
    )


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in re.finditer(r"[^\n]+(?:\n(?!\n)[^\n]*)*", text):
        start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
        end = match.start() + len(match.group(0).rstrip())
        if end > start:
            spans.append((start, end))
    return spans


def _units(pages: list[CleanPage], max_words: int) -> list[_Unit]:
    units: list[_Unit] = []
    paragraph, section = 0, None
    for index, page in enumerate(pages):
        for p_start, p_end in _paragraphs(page.text):
            paragraph += 1
            body = page.text[p_start:p_end]
            if is_heading_paragraph(body):
                section = " ".join(body.split())
            sentences = [
                (p_start + s, p_start + e)
                for sent_start, sent_end in split_sentences(body)
                for s, e in _bounded(body, sent_start, sent_end, max_words)
            ]
            for i, (s, e) in enumerate(sentences):
                units.append(_Unit(index, paragraph, s, e, len(page.text[s:e].split()),
                                   i == len(sentences) - 1, section))
    return units


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


def chunk_pages(doc_id: str, pages: list[CleanPage], *, min_words: int = 120, max_words: int = 220,
                overlap_words: int = 40) -> list[Chunk]:
    """Chunks of whole sentences over the pages whose status is "ok".

    The next chunk repeats the previous chunk's last sentence when it has at
    most `overlap_words` words (0 turns overlap off); a new section heading
    starts a new chunk with no overlap.
    """
    usable = [p for p in pages if p.status == "ok" and p.text.strip()]
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    fresh = 0  # words in `current` not repeated from the previous chunk

    def close(carry: bool) -> None:
        nonlocal current, fresh
        groups.append(current)
        tail = current[-1]
        current = [tail] if carry and 0 < tail.words <= overlap_words else []
        fresh = 0

    for unit in _units(usable, max_words):
        size = sum(u.words for u in current)
        new_section = bool(current) and unit.section != current[-1].section
        if fresh and (size + unit.words > max_words or (new_section and size >= min_words // 2)):
            close(carry=not new_section)
            size = sum(u.words for u in current)
        # Also right after a close: the carried sentence plus this one may not fit either.
        if not fresh and (new_section or size + unit.words > max_words):
            current = []  # the carried sentence would push this chunk past max_words
        current.append(unit)
        fresh += unit.words
        # Prefer to end at a paragraph boundary once the chunk is long enough.
        if unit.last_in_paragraph and sum(u.words for u in current) >= min_words:
            close(carry=True)
    if fresh:
        groups.append(current)
    return _number(doc_id, usable, groups)


def _number(doc_id: str, pages: list[CleanPage], groups: list[list[_Unit]]) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for ordinal, group in enumerate(groups, 1):
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
            section=first.section,
        ))
    return chunks
