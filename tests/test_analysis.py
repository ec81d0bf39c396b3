import pytest

from kb.text.analysis import analyze, fts_query
from kb.text.fold import fold_keep_enye


@pytest.mark.parametrize("a, b", [
    ("cooperación", "COOPERACION"),
    ("cooperación", "cooperativas"),
    ("distritos industriales", "distrito industrial"),
    ("economías", "economia"),
])
def test_variants_meet_on_one_term(a, b):
    assert analyze(a) == analyze(b)


def test_enye_is_a_letter_not_an_accent():
    assert fold_keep_enye("pequeñas económicas") == "pequeñas economicas"
    assert analyze("año") != analyze("ano")


def test_stopwords_are_dropped():
    assert analyze("el papel de la confianza en los distritos") == analyze("papel confianza distritos")


def test_user_text_is_never_fts_syntax():
    query = fts_query('mesoespacio" OR NOT (clúster* AND')
    assert query is not None
    assert all(part.startswith('"') and part.endswith('"') for part in query.split(" OR "))
    assert fts_query("de la y el") is None
