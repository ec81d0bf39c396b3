"""Passage text as safe HTML, with the query's words and a concept's evidence marked.

The result is meant for Streamlit's `st.markdown(..., unsafe_allow_html=True)`,
which runs Markdown before HTML: document text may hold `<script>`, Markdown
links, emphasis or `$` maths, and must show as the literal text it is. So every
character Markdown or HTML could read as syntax becomes an entity, and no raw
newline is left (a line starting with "- " or "1. " would become a list).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from kb.text.analysis import terms
from kb.text.tokens import WORD

# html.escape(quote=True)'s five, then the characters Markdown (CommonMark, GFM,
# Streamlit's maths, colours and emoji shortcodes) gives a meaning to.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_ENTITIES |= {ch: f"&#{ord(ch)};" for ch in "*_#[]()`\\~|$!+-.:={}^"}
_ESCAPE = str.maketrans(_ENTITIES)
QUERY, CONCEPT = "q", "c"  # the <mark> classes


def escape(text: str) -> str:
    """`text` as HTML that neither HTML nor Markdown can read as markup."""
    return text.translate(_ESCAPE)


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str | None:
    found = terms(word)
    return found[0] if len(found) == 1 else None  # None: a stopword


def query_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Spans of the words of `text` that share a Spanish stem with a query word
    ("Cooperación" for "cooperacion", "distritos" for "distrito")."""
    wanted = set(terms(query))
    if not wanted:
        return []
    return [m.span() for m in WORD.finditer(text) if _stem(m.group()) in wanted]


def highlight_html(text: str, query: str, concept_spans: Iterable[tuple[int, int]] = ()) -> str:
    """Escaped `text` with `<mark class="q">` on query words and `<mark class="c">`
    on the concept evidence spans (character offsets into `text`); newlines
    become `<br>`. Where both apply, the query mark nests inside the concept
    mark, so tags never interleave."""
    marks = {QUERY: _flags(len(text), query_spans(text, query)), CONCEPT: _flags(len(text), concept_spans)}
    out: list[str] = []
    open_concept = open_query = False
    for start, end in _segments(text, marks):
        concept, query_on = marks[CONCEPT][start], marks[QUERY][start]
        if concept != open_concept:
            # Outer mark changes: close the inner one first, reopen it inside if needed.
            if open_query:
                out.append("</mark>")
                open_query = False
            out.append(f'<mark class="{CONCEPT}">' if concept else "</mark>")
            open_concept = concept
        if query_on != open_query:
            out.append(f'<mark class="{QUERY}">' if query_on else "</mark>")
            open_query = query_on
        out.append(_body(text[start:end], first=start == 0))
    out += ["</mark>"] * (open_query + open_concept)
    return "".join(out)


def _flags(length: int, spans: Iterable[tuple[int, int]]) -> list[bool]:
    flags = [False] * length
    for start, end in spans:
        start, end = max(0, int(start)), min(length, int(end))
        flags[start:end] = [True] * max(0, end - start)
    return flags


def _segments(text: str, marks: dict[str, list[bool]]) -> list[tuple[int, int]]:
    """Runs of characters that carry the same marks."""
    spans, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or any(flags[i] != flags[i - 1] for flags in marks.values()):
            spans.append((start, i))
            start = i
    return spans


def _body(chunk: str, first: bool) -> str:
    html = escape(chunk.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "<br>")
    if first:
        # Four leading spaces would start a Markdown code block.
        stripped = html.lstrip(" \t")
        html = "&#32;" * (len(html) - len(stripped)) + stripped
    return html


def find_span(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` lies in `text`, whatever the whitespace between its words
    (quotes are stored with single spaces, passages keep their line breaks)."""
    words = quote.split()
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(word) for word in words), text)
    return (match.start(), match.end()) if match else None
