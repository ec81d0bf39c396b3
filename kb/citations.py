"""Citations for passages: "Autor (año). Título, p. N", never inventing what is unknown."""

from __future__ import annotations

from kb.catalog import DocumentMeta


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


def short_citation(meta: DocumentMeta, doc_id: str, where: str) -> str:
    year = str(meta.year) if meta.year else "s. f."
    title = meta.title or doc_id
    author = author_part(meta)
    if author:
        return f"{author} ({year}). {title}, {where}"
    # APA moves the title to the author's place when there is no author.
    return f"{title} ({year}), {where}"
