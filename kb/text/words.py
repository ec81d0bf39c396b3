"""Word lists: the Spanish and English dictionaries that tell a real word from a broken one.

Cleaning uses them to rejoin hyphenated words and to spot junk; the concept tagger
uses them never to "correct" a real word into a concept.
"""

from __future__ import annotations

from functools import cache

from kb.text.fold import fold


@cache
def _dictionary(language: str) -> frozenset[str]:
    # pyspellchecker ships its frequency lists inside the wheel: no network.
    from spellchecker import SpellChecker

    return frozenset(fold(w) for w in SpellChecker(language=language).word_frequency.dictionary)


def spanish_words() -> frozenset[str]:
    """Folded Spanish word list (pyspellchecker's "es" frequency dictionary)."""
    return _dictionary("es")


@cache
def known_words() -> frozenset[str]:
    """Folded Spanish and English words: the junk test must not call English
    prose (sharif, seers) garbage, and the concept tagger never "corrects" a real word."""
    return _dictionary("es") | _dictionary("en")
