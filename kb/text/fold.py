"""Folding: the forms in which two spellings of a word compare equal.

One rule strips accents (the nonspacing marks left by canonical decomposition);
each variant says what else it does, because each caller needs a different
equality: the dictionaries ignore case and every accent, the lexical index keeps
ñ (a different letter: "año" is not "ano"), the concept tagger also undoes
ligatures, and ids, file names and sort keys must be plain ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ENYE = re.compile("([ñÑ])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold(text: str) -> str:
    """Lowercase, every accent stripped, ñ included: "Ñandú" -> "nandu".
    How the word lists compare words, so "Político" meets "politico"."""
    return _strip_marks(text.lower())


def fold_keep_enye(text: str) -> str:
    """Accents stripped except the tilde of ñ, case kept: "Ñandú" -> "Ñandu".
    How the lexical index spells its terms: "economías" meets "economias", "año" stays apart from "ano"."""
    # Split around ñ rather than decompose it: its tilde is a nonspacing mark too.
    return "".join(piece if _ENYE.fullmatch(piece) else _strip_marks(piece) for piece in _ENYE.split(text))


# The tagger folds every word of every passage it tags, and words repeat.
@lru_cache(maxsize=500_000)
def fold_match(word: str) -> str:
    """Ligatures undone, lowercase, accents stripped except ñ's: "Conﬁanza" -> "confianza".
    How the concept tagger compares a passage's words with the names of concepts."""
    # NFKC undoes ligatures without changing the number of words: a token keeps its span.
    return fold_keep_enye(unicodedata.normalize("NFKC", word).lower())


def to_ascii(text: str) -> str:
    """Compatibility-decomposed, then everything outside ASCII dropped: "Ñandú" -> "Nandu",
    "ß" -> "". For names that must be ASCII (file names)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def fold_key(text: str) -> str:
    """Lowercase ASCII words apart by single spaces: "Saraví, G." -> "saravi g".
    For sort keys and ids, where only letters and digits count."""
    return " ".join(_NOT_ALNUM.sub(" ", to_ascii(text).lower()).split())
