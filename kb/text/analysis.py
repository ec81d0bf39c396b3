"""Spanish text analysis for lexical search: stems with accents folded, ñ kept.

The same function analyses passages at index time and queries at search time,
so "cooperación", "cooperativas" and "COOPERACION" meet on one term, while
"año" and "ano" stay apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from kb.text.fold import fold_keep_enye
from kb.text.tokens import WORD

STOPWORDS = {
    "es": frozenset(
        """a al algo algunas algunos ante antes como con contra cual cuales cuando de del desde donde
        durante e el ella ellas ellos en entre era eran es esa esas ese eso esos esta estas este esto
        estos fue fueron ha han hasta hay la las le les lo los mas me mi mientras muy ni no nos o os
        otra otras otro otros para pero poco por porque que quien quienes se sea ser si sin sino sobre
        son su sus también tan te tiene tienen todo todos tu un una unas uno unos y ya yo qué cómo
        cuál cuáles dónde cuándo según the of and in to is are what which""".split()
    )
}
_STEMMER_NAMES = {"es": "spanish"}


@cache
def _stemmer(language: str):
    import Stemmer

    return Stemmer.Stemmer(_STEMMER_NAMES[language])


# Bumped whenever terms() changes, so stored indexes re-analyse their text.
VERSION = "2"
# A Spanish word does not end in a consonant plus "s": "clusters", "tests" are
# English plurals, which the Spanish stemmer would keep apart from "clúster".
_ENGLISH_PLURAL = re.compile(r"(?<=[^aeiouáéíóúüs\W\d])s$")


def terms(text: str, language: str = "es") -> list[str]:
    """Index terms of `text` in order: lowercase, stopwords out, accents folded, stemmed."""
    words = [w for w in WORD.findall(unicodedata.normalize("NFC", text).lower()) if w not in STOPWORDS[language]]
    # Fold before stemming: users often type without accents, and the stemmer
    # must then see the same word either way ("economías" / "economias").
    words = [_ENGLISH_PLURAL.sub("", fold_keep_enye(w)) if len(w) > 3 else fold_keep_enye(w) for w in words]
    return _stemmer(language).stemWords(words)


# Function words that tell an English question from a Spanish one ("what", "the" / "qué", "el").
_ENGLISH = frozenset("the of and what which how does do did is are was were in to for by on with why who whom "
                     "according between their its from this that these those an".split())
_SPANISH = frozenset("de la el los las que qué en y por para según cómo cuál cuáles del se un una es son al "
                     "con como entre su sus lo".split())


def is_english(text: str) -> bool:
    """Whether a query is in English rather than Spanish, by its function words."""
    words = WORD.findall(text.lower())
    return sum(w in _ENGLISH for w in words) > sum(w in _SPANISH for w in words)


def analyze(text: str, language: str = "es") -> str:
    return " ".join(terms(text, language))


def fts_query(text: str, language: str = "es") -> str | None:
    """An FTS5 MATCH expression: any of the query's terms, each quoted so user
    text can never be read as FTS5 syntax; None when nothing is left to search."""
    unique = dict.fromkeys(terms(text, language))
    return " OR ".join(f'"{t}"' for t in unique) or None
