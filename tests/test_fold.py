"""Folding: each variant on the spellings that tell them apart."""

import unicodedata

import pytest

from kb.cite.catalog import slugify
from kb.text.fold import fold, fold_keep_enye, fold_key, fold_match, to_ascii

TRICKY = ["Ñandú", "Político", "conﬁanza", "Saraví, G."]


@pytest.mark.parametrize("variant, expected", [
    (fold, ["nandu", "politico", "conﬁanza", "saravi, g."]),
    (fold_keep_enye, ["Ñandu", "Politico", "conﬁanza", "Saravi, G."]),
    (fold_match, ["ñandu", "politico", "confianza", "saravi, g."]),
    (to_ascii, ["Nandu", "Politico", "confianza", "Saravi, G."]),
    (fold_key, ["nandu", "politico", "confianza", "saravi g"]),
])
def test_each_variant_on_tricky_spellings(variant, expected):
    assert [variant(text) for text in TRICKY] == expected


def test_a_decomposed_enye_is_an_n_with_an_accent():
    # Callers compose first (NFC, NFKC) when ñ must survive: its tilde alone is a mark.
    assert fold_keep_enye("an\u0303o") == "ano"
    assert fold_keep_enye("año") == "año"


def test_the_one_mark_rule_strips_what_the_dictionary_fold_stripped():
    """The word lists used to drop characters with a combining class, the index the
    nonspacing marks; on Latin, Greek and Cyrillic they differ only on the invisible
    combining grapheme joiner, which the word lists now ignore as the index does."""
    def old_fold(word):
        decomposed = unicodedata.normalize("NFD", word.lower())
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

    scripts = [*range(0x0000, 0x0530), *range(0x1E00, 0x2000)]
    assert [chr(c) for c in scripts if fold(chr(c)) != old_fold(chr(c))] == ["\u034f"]


def test_slugs_are_fold_keys_joined_by_hyphens():
    assert slugify("Saraví, G. (1998) – Distritos.pdf") == "saravi-g-1998-distritos"
    assert slugify("¿¡…!?.txt") == "documento"
