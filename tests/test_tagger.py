"""Concept tagging: names as written in real documents, damaged ones, ambiguous acronyms."""

import gc
import weakref

import pytest

from kb.concepts.tagger import Tagger
from kb.concepts.taxonomy import TaxonomyError, load_taxonomy, read_taxonomy

SMALL = """
[[concept]]
id = "mesoespacio"
label = "mesoespacio"
framework = "desarrollo territorial"
aliases = ["meso-espacio", "mesospace"]
authors = ["Messner"]

[[concept]]
id = "becattini"
label = "Giacomo Becattini"
framework = "distrito industrial"
aliases = ["Becatini"]
authors = ["Becattini", "Giacomo Becattini"]

[[concept]]
id = "distrito-industrial"
label = "distrito industrial"
framework = "distrito industrial"
aliases = ["industrial district", "distretto industriale"]
authors = ["Becattini", "Marshall"]

[[concept]]
id = "cluster"
label = "clúster"
framework = "clúster"
aliases = ["cluster", "clústeres"]
authors = ["Porter"]

[[concept]]
id = "iap"
label = "iniciativa de articulación productiva"
framework = "política de desarrollo productivo"
aliases = ["IAP"]
not_confused_with = ["investigacion-accion-participativa"]
context = ["articulación productiva", "CEPAL", "Corfo"]

[[concept]]
id = "investigacion-accion-participativa"
label = "investigación-acción participativa"
framework = "método"
aliases = ["IAP"]
not_confused_with = ["iap"]
context = ["Fals Borda", "investigación-acción", "comunidad"]
"""


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    path = tmp_path_factory.mktemp("tax") / "concepts.toml"
    path.write_text(SMALL, encoding="utf-8")
    return Tagger(read_taxonomy([path]))


def concepts(tags):
    return {t.concept for t in tags}


def test_accents_case_and_plurals_do_not_matter(tagger):
    tags = tagger.tag("Los CLUSTERS y los Distritos Industriales de México; los clústeres peruanos.")
    assert concepts(tags) == {"cluster", "distrito-industrial"}
    district = next(t for t in tags if t.concept == "distrito-industrial")
    assert (district.matched, district.kind) == ("Distritos Industriales", "exact")


def test_evidence_offsets_point_into_the_text(tagger):
    text = "Según Messner, el mesoespacio es clave."
    tag = next(t for t in tagger.tag(text) if t.concept == "mesoespacio")
    assert text[tag.start:tag.end] == "mesoespacio" and tag.kind == "exact"


@pytest.mark.parametrize("text, matched", [
    ("la construcción misma del me so espacio, es decir", "me so espacio"),
    ("el meso- espacio institucional", "meso- espacio"),
    ("como sostiene Becatini (1990)", "Becatini"),
])
def test_ocr_damage_is_repaired(tagger, text, matched):
    tags = [t for t in tagger.tag(text) if t.matched == matched]
    assert tags, tagger.tag(text)


def test_split_and_misspelt_names_are_marked_fuzzy(tagger):
    tags = tagger.tag("el me so espacio y los clús- teres de Becattinni")
    kinds = {t.concept: t.kind for t in tags}
    assert kinds == {"mesoespacio": "fuzzy", "cluster": "fuzzy", "becattini": "fuzzy"}


def test_real_words_are_never_corrected(tagger):
    # "distinto" is one letter from "distrito": a dictionary word stays itself.
    assert tagger.tag("un camino distinto al de las empresas grandes") == []


def test_person_concepts_match_their_author_names(tagger):
    tags = tagger.tag("Becattini (1990) lo define así.")
    assert [(t.concept, t.kind) for t in tags] == [("becattini", "author")]


def test_an_author_does_not_tag_the_concepts_tied_to_him(tagger):
    # Porter is an author of "clúster", but naming him is not naming clusters.
    assert tagger.tag("Porter (1990) estudió la competitividad de las naciones.") == []


def test_acronyms_match_in_capitals_only(tagger):
    assert [t.matched for t in tagger.tag("Las IAP apoyadas por Corfo")] == ["IAP"]
    assert tagger.tag("las iap apoyadas por Corfo") == []


def test_ambiguous_acronym_follows_context(tagger):
    cepal = tagger.tag("La CEPAL apoya las IAP en Chile junto a Corfo.")
    fals = tagger.tag("La IAP, propuesta por Fals Borda, trabaja con la comunidad.")
    assert "iap" in concepts(cepal) and "investigacion-accion-participativa" not in concepts(cepal)
    assert "investigacion-accion-participativa" in concepts(fals) and "iap" not in concepts(fals)


def test_ambiguous_acronym_without_context_uses_the_document_or_nothing(tagger):
    passage = "Las IAP crecieron en número durante la década."
    assert tagger.tag(passage) == []  # no evidence: better untagged than wrong
    tagged = tagger.tag_document(["Programa de iniciativas de articulación productiva de Corfo.", passage])
    assert concepts(tagged[1]) == {"iap"}


def test_one_mention_counts_once(tagger):
    tags = tagger.tag("El distrito industrial italiano")
    assert [t.matched for t in tags] == ["distrito industrial"]


def test_a_dropped_tagger_is_freed(tmp_path):
    """Its caches belong to it: a cache shared by every Tagger would keep each one alive."""
    path = tmp_path / "concepts.toml"
    path.write_text(SMALL, encoding="utf-8")
    tagger = Tagger(read_taxonomy([path]))
    assert concepts(tagger.tag("Según Becatinni y Porter, el mesoespacio")) >= {"becattini", "mesoespacio"}
    dropped = weakref.ref(tagger)
    del tagger
    gc.collect()
    assert dropped() is None


def test_user_file_extends_the_bundled_taxonomy(tmp_path):
    bundled = load_taxonomy()
    assert len(bundled) >= 30
    some = next(iter(bundled))
    extra = tmp_path / "mine.toml"
    extra.write_text(f'[[concept]]\nid = "{some.id}"\naliases = ["variante-propia"]\n\n'
                     '[[concept]]\nid = "nuevo"\nlabel = "concepto nuevo"\nframework = "método"\n', encoding="utf-8")
    merged = load_taxonomy(extra=[extra])
    assert "variante-propia" in merged[some.id].aliases
    assert set(some.aliases) <= set(merged[some.id].aliases)
    assert merged[some.id].label == some.label and "nuevo" in merged
    assert merged.fingerprint != bundled.fingerprint


@pytest.mark.parametrize("body, reason", [
    ('[[concept]]\nid = "x"\nlabel = "x"\nframework = "economía"\n', "marco desconocido"),
    ('[[concept]]\nlabel = "x"\nframework = "método"\n', "no tiene 'id'"),
    ('[[concept]]\nid = "x"\nframework = "método"\n', "no tiene 'label'"),
    ('[[concept]]\nid = "x"\nlabel = "x"\nframework = "método"\nrelated = ["nada"]\n', "inexistentes: nada"),
    ('[[concept]\n', "no se puede leer"),
])
def test_bad_taxonomy_files_name_the_file_and_the_reason(tmp_path, body, reason):
    path = tmp_path / "mine.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TaxonomyError) as error:
        read_taxonomy([path])
    assert str(path) in str(error.value) and reason in str(error.value)
