"""Clean extracted page text before chunking.

Every rule here was forced by a defect seen in the bundled corpus (corpus/*.txt)
or in the real PDFs of shared/real-pdfs. All functions are pure: they take text
and return new text, nothing is read from disk except the word lists that the
`pyspellchecker` wheel ships (loaded once, lazily).

Pipeline per page: Unicode normalisation -> drop noise lines (running headers
and footers, page numbers, ISSN mastheads, table-of-contents lines, chart-axis
number runs, vertical axis labels) -> rejoin line-end hyphenation -> rebuild
paragraphs ("\n\n" between paragraphs, none inside) -> status (ok/empty/junk).
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from ingest.ocr import CONFIDENCE_FLOOR
from kb.records import CleanPage, Page
from kb.text.fold import fold
from kb.text.words import known_words, spanish_words

# --------------------------------------------------------------------------
# Rule 1: Unicode normalisation
# --------------------------------------------------------------------------

# sharif (Elsevier) and the SENA concept map write "ﬁ" as U+FB01; NFC keeps
# ligatures, so they are expanded explicitly (NFKC would also rewrite "º", "½"…).
LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "ft",
    "\ufb06": "st",
}
_LIGATURE_TABLE = str.maketrans(LIGATURES)
# Line and paragraph separators, form feeds and vertical tabs end a line.
_LINE_BREAKS = re.compile(r"\r\n?|[\f\v\u2028\u2029\x85]")
# A soft hyphen at the end of a line marks where a word was split: join it.
_SOFT_HYPHEN_BREAK = re.compile(r"\u00ad[ \t]*\n[ \t]*")
_HYPHEN_VARIANTS = str.maketrans({"\u2010": "-", "\u2011": "-"})


def normalize_unicode(text: str) -> str:
    """NFC, ligatures expanded, soft hyphens removed, one kind of space, no control chars."""
    text = text.translate(_LIGATURE_TABLE).translate(_HYPHEN_VARIANTS)
    text = _LINE_BREAKS.sub("\n", text)
    text = _SOFT_HYPHEN_BREAK.sub("", text)
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif ch == "\t" or unicodedata.category(ch) == "Zs":  # NBSP, thin space…
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf"):  # controls, soft hyphen, ZWSP, BOM
            continue
        else:
            out.append(ch)
    # Composed last: an expanded ligature or a dropped zero-width character can
    # leave a letter next to its accent ("ﬁ\u0301" -> "fí").
    return unicodedata.normalize("NFC", "".join(out))


# --------------------------------------------------------------------------
# Word lists (rule 2 and rule 7)
# --------------------------------------------------------------------------

_LETTERS = r"[^\W\d_]+"  # a run of letters, accented ones included


# A split word at a line end, possibly with spaces ("coope-  \nración") and,
# in double-spaced extractions (briceno, ovop), blank lines before its rest.
_BREAK = re.compile(rf"{_LETTERS}-[ \t]*\n(?:[ \t]*\n){{0,2}}[ \t]*{_LETTERS}")


def document_vocabulary(texts: Iterable[str]) -> set[str]:
    """Folded words of a document, leaving out the halves of words split at line ends."""
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary.update(fold(w) for w in re.findall(_LETTERS, _BREAK.sub(" ", text)))
    return vocabulary


# --------------------------------------------------------------------------
# Rule 2: line-end hyphenation
# --------------------------------------------------------------------------

_LINE_END_SPLIT = re.compile(rf"(?<![^\W\d_])({_LETTERS})-[ \t]*$")
_LINE_START_WORD = re.compile(rf"\s*({_LETTERS})")
# An aside opened with a spaced dash and not yet closed: "comercio -de baja
# productividad-" (CEPAL/SERCOTEC), where the line-end dash closes the aside,
# unless the next line closes it: "mercados -que ... heterogé-" / "neos- y".
_OPEN_ASIDE = re.compile(r"(?:^|\s)-(?=[^\W\d_])[^-]*$")
_CLOSING_DASH = re.compile(r"^\S*-(?:\s|$)")
# Spanish derivational endings that are also words on their own (or in the
# word list): a line starting with one continues a split word (Saraví).
_SUFFIXES = frozenset(
    "mente miento mientos cion ciones dad dades idad idades ismo ismos ista istas ble bles".split()
)


def rejoin_split(
    first: str, second: str, before: str, after: str, is_known: Callable[[str], bool]
) -> str:
    """Decide how "first-\\nsecond" is written on one line.

    `before` is the line text preceding `first`, `after` the text following
    `second` on its line; `is_known` tests a word against the Spanish word
    list plus the document vocabulary.
    """
    joined = first + second
    if is_known(joined):  # institucio-nal -> institucional
        return joined
    if second[0].isupper():  # a split word never resumes in capitals: Meyer-Stamer
        return f"{first}-{second}"
    if _OPEN_ASIDE.search(before) and not _CLOSING_DASH.match(after):
        return f"{first}- {second}"  # "-de baja productividad- junta"
    if fold(second) in _SUFFIXES:  # "socava-miento": "miento" is a word, but here a suffix
        return joined
    if len(first) > 1 and len(second) > 1 and is_known(first) and is_known(second):
        return f"{first}-{second}"  # compound: socio-territorial, político-económico
    return joined  # both halves unknown: a split word the list does not know


def join_hyphenated(lines: list[str], is_known: Callable[[str], bool]) -> list[str]:
    """Rejoin words split across line ends; the rest of the next line moves up."""
    lines = list(lines)
    i = 0
    while i < len(lines):
        match = _LINE_END_SPLIT.search(lines[i])
        nxt = _next_non_blank(lines, i, max_blanks=2)
        start = _LINE_START_WORD.match(lines[nxt]) if match and nxt is not None else None
        # across a blank line, a capital more likely opens a new paragraph
        crosses_blank = nxt is not None and nxt > i + 1
        if not match or not start or nxt is None or (crosses_blank and start.group(1)[0].isupper()):
            i += 1
            continue
        before = lines[i][: match.start()]
        after = lines[nxt][start.end() :]
        piece = rejoin_split(match.group(1), start.group(1), before, after, is_known)
        lines[i] = before + piece + after
        del lines[i + 1 : nxt + 1]
        # stay on line i: its new end may be split again
    return lines


def _next_non_blank(lines: Sequence[str], i: int, max_blanks: int) -> int | None:
    for j in range(i + 1, min(len(lines), i + 2 + max_blanks)):
        if lines[j].strip():
            return j
    return None


# --------------------------------------------------------------------------
# Rules 3-5: noise lines
# --------------------------------------------------------------------------

RUNNING_EDGE_LINES = 4  # lines looked at on top and bottom of each page
RUNNING_SHARE = 0.4  # share of pages a running line must appear on
RUNNING_MIN_PAGES = 3
SAME_PAGE_REPEATS = 3  # single-page texts: repeats that make a line running


def line_key(line: str) -> str:
    """Compare lines with digits normalised: "Página 3" and "Página 4" are one line."""
    return re.sub(r"\d+", "0", " ".join(line.lower().split()))


def _edge_keys(lines: Sequence[str], known: set[str]) -> set[str]:
    """Keys of the first and last few lines not already known to be running."""
    keys = [line_key(line) for line in lines if line.strip()]
    fresh = [k for k in keys if k not in known]
    return set(fresh[:RUNNING_EDGE_LINES] + fresh[-RUNNING_EDGE_LINES:])


def running_keys(pages_lines: Sequence[Sequence[str]]) -> set[str]:
    """Keys of lines repeated on the edges of many pages (headers and footers).

    Found in rounds: briceno's header is 6 lines once its title wraps, so
    after the first 4 are known the next ones come within the edge window.
    """
    if len(pages_lines) < RUNNING_MIN_PAGES:
        return set()
    needed = max(RUNNING_MIN_PAGES, math.ceil(RUNNING_SHARE * len(pages_lines)))
    found: set[str] = set()
    for _ in range(3):
        counts = Counter(k for lines in pages_lines for k in _edge_keys(lines, found))
        new = {k for k, n in counts.items() if n >= needed}
        if not new:
            break
        found |= new
    return found


def repeated_in_page(lines: Sequence[str]) -> set[str]:
    """Keys of lines seen 3+ times in one page: the header of a text without page breaks.

    Short keys are left out so bullets and table cells ("0,0") never qualify.
    """
    counts = Counter(line_key(line) for line in lines if line.strip())
    return {k for k, n in counts.items() if n >= SAME_PAGE_REPEATS and len(k) >= 8}


_PAGE_NUMBER = re.compile(
    r"""^(?:
        \d{1,4} | [-–—]\s*\d{1,4}\s*[-–—]       # 12, - 12 - ("-20" alone is an axis value)
      | (?:p|pp|pág|pag|página|pagina|page)\.?\s*\d{1,4}(?:\s*(?:de|/|of)\s*\d{1,4})?  # Página 12 de 30
      | \d{1,4}\s*/\s*\d{1,4}                  # 12 / 30
    )$
    """,
    re.VERBOSE | re.IGNORECASE,
)
# Front-matter numbers i-xlix, lowercase only: "IV" alone may be a section
# title, and a looser pattern would eat one-word lines like "civil" or "mil".
_ROMAN_PAGE = re.compile(r"(?=[ivxl])(?:xl|l?x{0,3})(?:ix|iv|v?i{0,3})")


def is_page_number(line: str) -> bool:
    s = line.strip()
    return bool(_PAGE_NUMBER.match(s) or _ROMAN_PAGE.fullmatch(s))


# Dot leaders (desarrollo_humano, SENA manuals) or ellipsis leaders, then an
# optional page number in arabic or roman figures.
_TOC_LINE = re.compile(r"(?:(?:\.\s?){4,}|…{2,}|(?:…\s?){2,})\s*(?:\d{1,4}|[ivxlcdm]{1,7})?\s*$", re.I)


def is_toc_line(line: str) -> bool:
    return bool(_TOC_LINE.search(line))


_NUMBER_TOKEN = re.compile(r"[-+−–]?\(?\d[\d.,]*\)?%?|%")


def is_numeric_line(line: str) -> bool:
    """Only numbers or percentages: "7,7", "-20", "30 %", "0 20.000 40.000"."""
    tokens = line.split()
    return bool(tokens) and all(_NUMBER_TOKEN.fullmatch(t) for t in tokens)


# ISSN mastheads are never prose; the loginn text keeps one running header
# ("Revista Loginn, Volumen 2, Número 1 (2018) - ISSN 2590-7441") only once,
# so repetition cannot find it.
_ISSN = re.compile(r"\bISSN\b[:\s-]*\d{4}-?\d{3}[\dXx]", re.IGNORECASE)


def is_masthead(line: str) -> bool:
    return bool(_ISSN.search(line)) and len(line.split()) <= 15


def _drop_runs(lines: list[str], test: Callable[[str], bool], min_run: int) -> list[str]:
    """Drop runs of `min_run`+ consecutive non-blank lines passing `test` (blanks between allowed)."""
    drop: set[int] = set()
    run: list[int] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if test(line):
            run.append(i)
            continue
        if len(run) >= min_run:
            drop.update(run)
        run = []
    if len(run) >= min_run:
        drop.update(run)
    return [line for i, line in enumerate(lines) if i not in drop]


def _is_vertical_fragment(line: str) -> bool:
    # CEPAL's chart axis title comes out one syllable a line: "Va", "ria", "ci", "ón", ")".
    s = line.strip()
    return 0 < len(s) <= 3 and not any(ch.isdigit() for ch in s)


def drop_noise_lines(lines: list[str], running: set[str]) -> list[str]:
    """Remove headers/footers, mastheads, TOC lines, number runs, page numbers, syllable runs."""
    kept = [
        line
        for line in lines
        if not line.strip()
        or not (line_key(line) in running or is_masthead(line) or is_toc_line(line))
    ]
    # Number runs before page numbers: in a chart axis "0" and "10" would
    # otherwise go as page numbers and break the run ("-30", "-20", "-10", "0"…).
    kept = _drop_runs(kept, is_numeric_line, min_run=3)
    kept = [line for line in kept if not is_page_number(line)]
    return _drop_runs(kept, _is_vertical_fragment, min_run=4)


# --------------------------------------------------------------------------
# Rule 6: paragraphs
# --------------------------------------------------------------------------

_BULLET = re.compile(r"^(?:[•▪●◦■□➢►*》›‣∙·–—-]+)(?:\s|$)")
_SENTENCE_END = re.compile(r"[.!?…][»”\"’')\]]*$")
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}\.(?:\d{1,2}\.?)*|[IVX]{1,4}\.)\s+[¿¡\"“«]?[^\W\d_]")


def _letters(s: str) -> list[str]:
    return [ch for ch in s if ch.isalpha()]


def is_caps_heading(line: str) -> bool:
    """An all-capitals short line: "RESUMEN", "CONCLUSIONES Y RESULTADOS"."""
    s = line.strip()
    letters = _letters(s)
    return len(letters) >= 4 and len(s.split()) <= 12 and all(ch.isupper() for ch in letters)


def is_heading_line(line: str, prev: str | None, nxt: str | None) -> bool:
    """Short heading-like line that must stay a paragraph of its own.

    `prev`/`nxt` are the neighbouring non-blank lines, None across a paragraph break.
    """
    s = line.strip()
    words = s.split()
    if not words or len(s) > 90 or s[-1] in ".,;:-" or len(_letters(s)) < 3:
        return False
    if is_caps_heading(s):
        return True
    if _NUMBERED_HEADING.match(s) and len(words) <= 10:  # "1. Introducción", "2.1 Líneas de pobreza"
        return True
    # "Resumen" on its own line right above the abstract (pillihuaman).
    return (
        len(words) <= 4
        and s[0].isupper()
        and (prev is None or bool(_SENTENCE_END.search(prev)))
        and (nxt is None or nxt[0].isupper())
    )


def _blank_threshold(lines: Sequence[str]) -> int:
    """Blank lines that mark a paragraph break.

    briceno and ovop come out double-spaced (a blank line after every line,
    paragraphs apart by 2-3 blanks); there one blank line is just a line break.
    """
    gaps, gap, seen = [], 0, False
    for line in lines:
        if line.strip():
            if seen:
                gaps.append(gap)
            seen, gap = True, 0
        else:
            gap += 1
    spaced = sum(1 for g in gaps if g >= 1)
    return 2 if gaps and spaced / len(gaps) > 0.5 else 1


def _continues_heading(line: str) -> bool:
    # CEPAL wraps numbered headings: "4. El enfoque colaborativo" / "entre empresas".
    return line[0].islower() and len(line.split()) <= 6 and not _SENTENCE_END.search(line)


def build_paragraphs(lines: Sequence[str]) -> list[str]:
    """Group lines into paragraphs: lines joined by spaces, headings on their own."""
    threshold = _blank_threshold(lines)
    entries: list[tuple[str, bool]] = []  # (line, paragraph break before it)
    gap = threshold  # the first line opens a paragraph
    for line in lines:
        if line.strip():
            entries.append((" ".join(line.split()), gap >= threshold))
            gap = 0
        else:
            gap += 1
    long_lines = [len(s) for s, _ in entries if len(s) >= 20]
    typical = statistics.median(long_lines) if long_lines else 0

    paragraphs: list[list[str]] = []
    in_heading = False  # the last paragraph is a heading still open to a wrapped line
    glue_next = False  # a bullet alone on its line belongs to the next line
    for i, (s, brk) in enumerate(entries):
        prev = entries[i - 1][0] if i > 0 and not brk else None
        nxt = entries[i + 1][0] if i + 1 < len(entries) and not entries[i + 1][1] else None
        if glue_next:
            new, heading = False, False
        elif in_heading and prev is not None and (
            _continues_heading(s) or (is_caps_heading(s) and is_caps_heading(prev))
        ):
            # a wrapped heading: "GESTIÓN EMPRESARIAL" / "Y FINANCIERA"
            new, heading = False, True
        elif is_heading_line(s, prev, nxt):
            new, heading = True, True
        else:
            heading = False
            new = (
                brk
                or in_heading
                or bool(_BULLET.match(s))
                # a short line closing a sentence, then a capital: paragraph end
                # in PDFs that put no blank line between paragraphs
                or (
                    prev is not None
                    and bool(_SENTENCE_END.search(prev))
                    and len(prev) < 0.75 * typical
                    and (s[0].isupper() or s[0] in "¿¡“«\"")
                )
            )
        if new or not paragraphs:
            paragraphs.append([s])
        else:
            paragraphs[-1].append(s)
        glue_next = len(s) <= 2 and bool(_BULLET.fullmatch(s + " "))
        in_heading = heading
    return [" ".join(p) for p in paragraphs]


# --------------------------------------------------------------------------
# Rule 7: page status
# --------------------------------------------------------------------------

MAX_BAD_CHAR_SHARE = 0.10  # control, private-use and replacement characters
MIN_LETTER_SHARE = 0.40  # letters among non-space characters
MIN_REAL_WORD_SHARE = 0.30  # Spanish/English words among letter tokens
MIN_TOKENS_FOR_WORD_TEST = 10


def _bad_char_share(text: str) -> float:
    chars = [ch for ch in text if not ch.isspace()]
    bad = sum(
        1
        for ch in chars
        if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cs")
    )
    return bad / len(chars) if chars else 0.0


def page_status(raw: str, text: str) -> str:
    """ "empty", "junk" or "ok".

    A page whose only text is its page number (SENA economía solidaria p. 71,
    an image) has no text layer either. Thresholds were tuned on the real
    PDFs: the SENA concept map (fragments of real words) scores 98% letters
    and ~68% real words; the seers scan's noisy OCR layer scores ~90%
    letters and 42-66% real words, so its pages stay "ok": most words
    are still right and it is the only copy of the text; it is noisy, not
    unreadable. Real junk (encoding garbage, symbol soup) falls far lower.
    """
    content = [line for line in raw.splitlines() if line.strip()]
    if not content or (len(content) == 1 and is_page_number(content[0])):
        return "empty"
    if _bad_char_share(unicodedata.normalize("NFC", raw)) > MAX_BAD_CHAR_SHARE:
        return "junk"
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return "ok"  # only boilerplate (a TOC page, a header): nothing to chunk, nothing lost
    if len(_letters(text)) / len(chars) < MIN_LETTER_SHARE:
        return "junk"
    tokens = [w for w in re.findall(_LETTERS, text) if len(w) >= 2]
    if not tokens:
        return "junk"
    if len(tokens) >= MIN_TOKENS_FOR_WORD_TEST:
        words = known_words()
        if sum(fold(w) in words for w in tokens) / len(tokens) < MIN_REAL_WORD_SHARE:
            return "junk"
    return "ok"


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def clean_text(text: str, running: set[str], is_known: Callable[[str], bool]) -> str:
    """Clean one page's normalised text; `running` holds header/footer line keys."""
    lines = drop_noise_lines(text.split("\n"), running)
    lines = join_hyphenated(lines, is_known)
    paragraphs = build_paragraphs(lines)
    return "\n\n".join(re.sub(r" {2,}", " ", p).strip() for p in paragraphs if p.strip())


def clean_pages(pages: list[Page], vocabulary: set[str] | None = None) -> list[CleanPage]:
    """Clean the pages of one document; `vocabulary` adds known words (any case/accents)."""
    texts = [normalize_unicode(p.text) for p in pages]
    pages_lines = [t.split("\n") for t in texts]
    running = running_keys(pages_lines)
    doc_words = document_vocabulary(texts) | {fold(w) for w in vocabulary or ()}
    dictionary = spanish_words()

    def is_known(word: str) -> bool:
        # The word list misses many plurals ("heterogéneos"): try the singular
        # of long words too (short ones are mostly fragments: "ties" is no "tie").
        folded = fold(word)
        forms = [folded]
        if len(folded) >= 6 and folded.endswith("s"):
            forms += [folded[:-1], folded[:-2] if folded.endswith("es") else ""]
        return any(f and (f in dictionary or f in doc_words) for f in forms)

    result = []
    for page, text, lines in zip(pages, texts, pages_lines):
        page_running = running if len(pages) >= RUNNING_MIN_PAGES else repeated_in_page(lines)
        cleaned = clean_text(text, page_running, is_known)
        status = page_status(page.text, cleaned)
        if status == "ok" and page.ocr_confidence is not None and page.ocr_confidence < CONFIDENCE_FLOOR:
            status = "ocr-low"
        result.append(
            CleanPage(
                number=page.number,
                label=page.label,
                raw=page.text,
                text=cleaned if status == "ok" else "",
                status=status,
                ocr_confidence=page.ocr_confidence,
            )
        )
    return result


def format_page_list(numbers: Iterable[int]) -> str:
    """ "página 7" or "páginas 3–5, 9" (en dash for ranges)."""
    nums = sorted(set(numbers))
    spans: list[str] = []
    start = prev = nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        spans.append(str(start) if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    word = "página" if len(nums) == 1 else "páginas"
    return f"{word} {', '.join(spans)}"


def unusable_report(pages: list[CleanPage]) -> str | None:
    """One Spanish line naming the pages that cannot be used, or None if all are ok."""
    def numbers(test: Callable[[CleanPage], bool]) -> list[int]:
        return [p.number or 1 for p in pages if test(p)]

    # A page OCR was tried on and found no words in is a blank page or a picture.
    empty = numbers(lambda p: p.status == "empty" and p.ocr_confidence is None)
    blank = numbers(lambda p: p.status == "empty" and p.ocr_confidence is not None)
    junk = numbers(lambda p: p.status == "junk")
    low = numbers(lambda p: p.status == "ocr-low")
    parts = []
    if empty:
        parts.append(f"sin capa de texto: {format_page_list(empty)}; requiere OCR")
    if blank:
        parts.append(f"sin texto, ni en capa ni reconocible por OCR: {format_page_list(blank)}")
    if junk:
        parts.append(f"texto ilegible: {format_page_list(junk)}")
    if low:
        parts.append(f"OCR poco fiable (confianza < {CONFIDENCE_FLOOR:.0f} %), no indexado: {format_page_list(low)}")
    return "; ".join(parts) or None
