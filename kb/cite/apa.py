"""APA 7 references and in-text citations, Spanish conventions ("y", "s. f.", "párr.").

Only what the catalog knows is written: a missing field is left out, never
guessed. Text is built as segments (text, italic) so that plain text,
Markdown and Word documents share one set of rules.
"""

from __future__ import annotations

import re

from kb.records import ChunkRow, DocumentMeta
from kb.text.fold import fold_key

Segment = tuple[str, bool]  # (text, italic)

MAX_LISTED_AUTHORS = 20  # APA 7: up to 20 names; from 21 on, 19 + ". . ." + the last one
_NO_DATE = "s. f."
_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_PAGE_RANGE = re.compile(r"(?<=\d)\s*[-‐‑–—]\s*(?=\d)")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_`])")
_URL = re.compile(r"(https?://\S+)")
# Words a short title should not end on ("Micro y pequeñas empresas en" -> "... empresas").
_FUNCTION_WORDS = {"a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "lo", "los", "o", "para",
                   "por", "sin", "sobre", "u", "un", "una", "y"}
# Leading articles APA skips when a title stands in the author position and is alphabetised.
_ARTICLES = {"a", "an", "the", "el", "la", "los", "las", "lo", "un", "una", "unos", "unas"}


def apa_reference(meta: DocumentMeta, doc_id: str, *, markdown: bool = False) -> str:
    """The reference-list entry; `markdown` marks italics with `*…*`."""
    return render(apa_reference_parts(meta, doc_id), markdown=markdown)


def apa_in_text(meta: DocumentMeta, doc_id: str, locator: str, *, markdown: bool = False) -> str:
    """Parenthetical citation: "(Saraví, 1998, p. 4)"."""
    return render(apa_in_text_parts(meta, doc_id, locator), markdown=markdown)


def render(parts: list[Segment], *, markdown: bool = False) -> str:
    if not markdown:
        return "".join(text for text, _ in parts)
    return "".join(_markdown(text, italic) for text, italic in parts)


def apa_reference_parts(meta: DocumentMeta, doc_id: str) -> list[Segment]:
    authors = format_authors(meta.authors)
    date = f"({meta.year})." if meta.year else f"({_NO_DATE})."
    title = _title_parts(meta, doc_id)
    if authors:
        parts: list[Segment] = [(_with_period(authors), False), (f" {date} ", False), *title]
    else:
        # APA 7: without an author the title (or the bracketed description) takes its place.
        parts = [*title, (f" {date}", False)]
    source = _source_parts(meta)
    if source:
        parts += [(" ", False), *source]
    doi = _doi(meta.doi)
    if doi:
        # No period after a DOI: it would become part of the link.
        parts.append((f" https://doi.org/{doi}", False))
    return _merge(parts)


def apa_in_text_parts(meta: DocumentMeta, doc_id: str, locator: str) -> list[Segment]:
    author = author_part(meta)
    if author:
        first: list[Segment] = [(author, False)]
    elif meta.title:
        short = short_title(meta.title)
        # Articles and chapters go in quotes, standalone works in italics (APA 7, 8.14).
        first = [(f'"{short}"', False)] if meta.venue else [(short, True)]
    else:
        first = [(f"[{doc_id}]", False)]
    tail = [str(meta.year) if meta.year else _NO_DATE]
    if locator.strip():
        tail.append(locator.strip())
    return _merge([("(", False), *first, (", " + ", ".join(tail) + ")", False)])


def format_authors(authors: tuple[str, ...] | list[str]) -> str | None:
    """ "Apellido, I. I." names joined by ", " and " y " (APA-es uses "y", not "&")."""
    names = [format_author(a) for a in authors if a.strip()]
    if not names:
        return None
    if len(names) > MAX_LISTED_AUTHORS:
        return ", ".join(names[: MAX_LISTED_AUTHORS - 1]) + ", . . . " + names[-1]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " y " + names[-1]


def format_author(author: str) -> str:
    """ "Saraví, Gonzalo A." -> "Saraví, G. A."; a group author ("CEPAL") is written whole."""
    surname, _, rest = author.partition(",")
    if not _:
        return author.strip()
    given, _, suffix = rest.partition(",")
    initials = " ".join(i for i in (_initials(word) for word in given.split()) if i)
    name = surname.strip()
    if initials:
        name += ", " + initials
    if suffix.strip():
        name += ", " + suffix.strip()
    return name


def short_title(title: str, max_words: int = 4) -> str:
    """The first words of the main title (before any subtitle), for in-text citations."""
    main = re.split(r"[:.?!]\s", title.strip() + " ", maxsplit=1)[0].strip().rstrip(".:")
    words = main.split()
    if len(words) <= max_words + 1:
        return main
    words = words[:max_words]
    while len(words) > 1 and words[-1].lower() in _FUNCTION_WORDS:
        words.pop()
    return " ".join(words)


def sort_key(meta: DocumentMeta, doc_id: str) -> tuple:
    """APA order: by author names (a single author before the same author with others),
    then undated before dated, then year, then title; a title or description in the
    author position is alphabetised by its first significant word."""
    if meta.authors:
        lead = tuple(fold_key(format_author(a)) for a in meta.authors)
    else:
        words = (meta.title or doc_id).split()
        if len(words) > 1 and fold_key(words[0]) in _ARTICLES:
            words = words[1:]
        lead = (fold_key(" ".join(words)),)
    return lead, meta.year if meta.year else -1, fold_key(meta.title or ""), doc_id


def page_range(pages: str) -> str:
    """ "45-67" -> "45–67" (APA uses an en dash); anything else is kept as given."""
    return _PAGE_RANGE.sub("–", pages.strip())


def doi_of(meta: DocumentMeta) -> str | None:
    """The bare DOI ("10.…"), whatever form the catalog holds it in."""
    return _doi(meta.doi)


def _title_parts(meta: DocumentMeta, doc_id: str) -> list[Segment]:
    if not meta.title:
        # No title: APA's bracketed description; the document id is all we know.
        return [(f"[{doc_id}].", False)]
    title = meta.title.strip()
    ending = "" if title.endswith((".", "?", "!")) else "."
    # A standalone work (no periodical) has its title in italics; an article's is plain.
    return [(title, not meta.venue), (ending, False)]


def _source_parts(meta: DocumentMeta) -> list[Segment]:
    if meta.venue:
        parts: list[Segment] = [(meta.venue.strip(), True)]
        if meta.volume:
            parts += [(", ", False), (meta.volume.strip(), True)]
            if meta.issue:
                parts.append((f"({meta.issue.strip()})", False))
        elif meta.issue:
            parts.append((f", ({meta.issue.strip()})", False))
        if meta.pages:
            parts.append((f", {page_range(meta.pages)}", False))
        parts.append((".", False))
        return parts
    if meta.publisher and not _publisher_is_author(meta):
        return [(_with_period(meta.publisher.strip()), False)]
    return []


def _publisher_is_author(meta: DocumentMeta) -> bool:
    # APA 7 omits the publisher when it is the author ("CEPAL / SERCOTEC" for CEPAL and SERCOTEC).
    publishers = {fold_key(p) for p in re.split(r"\s*/\s*|\s*;\s*", meta.publisher or "") if p.strip()}
    authors = {fold_key(a) for a in meta.authors}
    return bool(authors) and publishers == authors


def _initials(word: str) -> str:
    # Lowercase particles ("de", "la") are not given names and get no initial.
    if word[:1].islower():
        return ""
    pieces = [p for p in word.split("-") if p]
    letters = [next((ch for ch in p if ch.isalpha()), "") for p in pieces]
    return "-".join(f"{ch.upper()}." for ch in letters if ch)


def _doi(doi: str | None) -> str | None:
    if not doi or not doi.strip():
        return None
    return _DOI_PREFIX.sub("", doi.strip())


def _with_period(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def _merge(parts: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for text, italic in parts:
        if not text:
            continue
        if merged and merged[-1][1] == italic:
            merged[-1] = (merged[-1][0] + text, italic)
        else:
            merged.append((text, italic))
    return merged


def _markdown(text: str, italic: bool) -> str:
    # Links are left as they are: a backslash would become part of the address.
    pieces = _URL.split(text)
    escaped = "".join(p if i % 2 else _MARKDOWN_SPECIAL.sub(r"\\\1", p) for i, p in enumerate(pieces))
    return f"*{escaped}*" if italic else escaped


# Short citations of passages: "Autor (año). Título, p. N", never inventing what is unknown.
def surname(author: str) -> str:
    """"Saraví, Gonzalo A." -> "Saraví"; an organisation ("CEPAL") stays whole."""
    return author.split(",")[0].strip()


def author_part(meta: DocumentMeta) -> str | None:
    names = [surname(a) for a in meta.authors]
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} y {names[1]}"
    return f"{names[0]} et al."


def locator(page_start: int | None, page_end: int | None, paragraph_start: int, paragraph_end: int) -> str:
    """Pages when the source has them; otherwise APA's paragraph locator."""
    if page_start is not None:
        return f"p. {page_start}" if page_end in (None, page_start) else f"pp. {page_start}–{page_end}"
    if paragraph_end != paragraph_start:
        return f"párrs. {paragraph_start}–{paragraph_end}"
    return f"párr. {paragraph_start}"


# Said of every passage with text recognised from a page image, wherever it is cited:
# a reader should check such a quote against the page before using it.
OCR_MARK = "texto reconocido por OCR"


def chunk_locator(chunk: ChunkRow) -> str:
    return locator(chunk.page_start, chunk.page_end, chunk.paragraph_start, chunk.paragraph_end)


def chunk_citation(meta: DocumentMeta, chunk: ChunkRow) -> str:
    """The short citation of a passage, marked when its text was recognised by OCR."""
    citation = short_citation(meta, chunk.doc_id, chunk_locator(chunk))
    return f"{citation} [{OCR_MARK}]" if chunk.ocr else citation


def short_citation(meta: DocumentMeta, doc_id: str, where: str) -> str:
    year = str(meta.year) if meta.year else "s. f."
    title = meta.title or doc_id
    author = author_part(meta)
    if author:
        return f"{author} ({year}). {title}, {where}"
    # APA moves the title to the author's place when there is no author.
    return f"{title} ({year}), {where}"
