import pytest

from kb import config
from kb.cite.apa import (
    apa_in_text,
    apa_reference,
    apa_reference_parts,
    format_author,
    short_title,
    sort_key,
)
from kb.cite.catalog import CATALOG_FILE, load_catalog, slugify
from kb.records import DocumentMeta


def bundled() -> dict[str, DocumentMeta]:
    catalog = load_catalog(config.bundled_corpus_dir() / CATALOG_FILE)
    return {slugify(name): meta for name, meta in catalog.items()}


SARAVI = "saravi-1998-distritos-mexico"
PILLIHUAMAN = "pillihuaman-2025-villa-el-salvador"
CEPAL = "cepal-sercotec-2025-mipymes-chile"
FOMIN = "fomin-bid-clusters-distritos"
LOGINN = "loginn-2018-asociatividad-medellin"

# Checked by hand against APA 7 (Spanish edition conventions).
BUNDLED_REFERENCES = {
    SARAVI: (
        "Saraví, G. A. (1998). Micro y pequeñas empresas en los distritos industriales de México: "
        "la necesidad de un nuevo contexto institucional. Sociológica, 13(37)."
    ),
    PILLIHUAMAN: (
        "Pillihuaman Huamani, J. C. (2025). Relaciones colaborativas y sostenibilidad en microempresas "
        "metalmecánicas: un estudio cualitativo del clúster industrial en Villa El Salvador, Perú. "
        "Revista Espacios, 46(03), art. 4. https://doi.org/10.48082/espacios-a25v46n03p04"
    ),
    # No title: the document id as a bracketed description. The publisher
    # ("CEPAL / SERCOTEC") is the author itself, so APA leaves it out.
    CEPAL: "CEPAL y SERCOTEC. (2025). [cepal-sercotec-2025-mipymes-chile].",
    # No author, no title, no year: the description takes the author's place.
    FOMIN: "[fomin-bid-clusters-distritos]. (s. f.). FOMIN/BID.",
    LOGINN: "[loginn-2018-asociatividad-medellin]. (2018). Revista Loginn, 2(1).",
}

BUNDLED_MARKDOWN = {
    SARAVI: (
        "Saraví, G. A. (1998). Micro y pequeñas empresas en los distritos industriales de México: "
        "la necesidad de un nuevo contexto institucional. *Sociológica*, *13*(37)."
    ),
    PILLIHUAMAN: (
        "Pillihuaman Huamani, J. C. (2025). Relaciones colaborativas y sostenibilidad en microempresas "
        "metalmecánicas: un estudio cualitativo del clúster industrial en Villa El Salvador, Perú. "
        "*Revista Espacios*, *46*(03), art. 4. https://doi.org/10.48082/espacios-a25v46n03p04"
    ),
    CEPAL: "CEPAL y SERCOTEC. (2025). [cepal-sercotec-2025-mipymes-chile].",
    FOMIN: "[fomin-bid-clusters-distritos]. (s. f.). FOMIN/BID.",
    LOGINN: "[loginn-2018-asociatividad-medellin]. (2018). *Revista Loginn*, *2*(1).",
}


@pytest.mark.parametrize("doc_id", sorted(BUNDLED_REFERENCES))
def test_bundled_references(doc_id):
    meta = bundled()[doc_id]
    assert apa_reference(meta, doc_id) == BUNDLED_REFERENCES[doc_id]
    assert apa_reference(meta, doc_id, markdown=True) == BUNDLED_MARKDOWN[doc_id]


@pytest.mark.parametrize("doc_id, locator, expected", [
    (SARAVI, "p. 4", "(Saraví, 1998, p. 4)"),
    (CEPAL, "párr. 12", "(CEPAL y SERCOTEC, 2025, párr. 12)"),
    (PILLIHUAMAN, "párr. 3", "(Pillihuaman Huamani, 2025, párr. 3)"),
    (FOMIN, "párr. 7", "([fomin-bid-clusters-distritos], s. f., párr. 7)"),
    (LOGINN, "p. 2", "([loginn-2018-asociatividad-medellin], 2018, p. 2)"),
])
def test_bundled_in_text(doc_id, locator, expected):
    assert apa_in_text(bundled()[doc_id], doc_id, locator) == expected


def test_bundled_reference_list_order_is_alphabetical():
    metas = bundled()
    assert sorted(metas, key=lambda d: sort_key(metas[d], d)) == [CEPAL, FOMIN, LOGINN, PILLIHUAMAN, SARAVI]


def article(authors, **extra) -> DocumentMeta:
    values = dict(title="Un título", year=2006, venue="Revista", volume="3", issue="2", pages="10-20")
    values.update(extra)
    return DocumentMeta(authors=tuple(authors), **values)


def test_one_author():
    meta = article(["Pérez, Ana María"])
    assert apa_reference(meta, "x") == "Pérez, A. M. (2006). Un título. Revista, 3(2), 10–20."
    assert apa_in_text(meta, "x", "p. 12") == "(Pérez, 2006, p. 12)"


def test_two_authors_use_y_not_ampersand():
    meta = article(["Pérez, Ana", "Gómez Ruiz, José-Luis"])
    assert apa_reference(meta, "x").startswith("Pérez, A. y Gómez Ruiz, J.-L. (2006).")
    assert apa_in_text(meta, "x", "p. 2") == "(Pérez y Gómez Ruiz, 2006, p. 2)"


def test_three_authors():
    meta = article(["Primero, Ana", "Segundo, Beto", "Tercero, Carla"])
    assert apa_reference(meta, "x").startswith("Primero, A., Segundo, B. y Tercero, C. (2006). Un título.")
    assert apa_in_text(meta, "x", "p. 2") == "(Primero et al., 2006, p. 2)"


def test_twenty_authors_are_all_listed():
    names = [f"Autor{i}, Nombre" for i in range(1, 21)]
    reference = apa_reference(article(names), "x")
    assert reference.startswith("Autor1, N., Autor2, N., ")
    assert "Autor19, N. y Autor20, N. (2006)." in reference
    assert ". . ." not in reference


def test_twenty_one_authors_list_nineteen_then_the_last():
    names = [f"Autor{i}, Nombre" for i in range(1, 22)]
    reference = apa_reference(article(names), "x")
    listed = reference.split(" (2006).")[0]
    assert listed.startswith("Autor1, N., Autor2, N., ")
    assert listed.endswith("Autor18, N., Autor19, N., . . . Autor21, N.")
    assert "Autor20" not in listed and " y " not in listed
    assert apa_in_text(article(names), "x", "p. 1") == "(Autor1 et al., 2006, p. 1)"


def test_group_author_is_written_whole():
    meta = DocumentMeta(title="Panorama social de América Latina", authors=("CEPAL",), year=2020,
                        publisher="Naciones Unidas")
    assert apa_reference(meta, "x") == "CEPAL. (2020). Panorama social de América Latina. Naciones Unidas."
    assert apa_reference(meta, "x", markdown=True) == (
        "CEPAL. (2020). *Panorama social de América Latina*. Naciones Unidas."
    )
    assert apa_in_text(meta, "x", "p. 9") == "(CEPAL, 2020, p. 9)"


def test_publisher_same_as_group_author_is_omitted():
    meta = DocumentMeta(title="Informe", authors=("OIT",), year=2019, publisher="OIT")
    assert apa_reference(meta, "x") == "OIT. (2019). Informe."


def test_no_year_is_s_f():
    meta = DocumentMeta(title="Informe anual", authors=("Saraví, Gonzalo A.",))
    assert apa_reference(meta, "x") == "Saraví, G. A. (s. f.). Informe anual."
    assert apa_in_text(meta, "x", "p. 3") == "(Saraví, s. f., p. 3)"


def test_doi_link_in_any_form():
    for doi in ("10.1000/abc_1", "https://doi.org/10.1000/abc_1", "doi:10.1000/abc_1"):
        meta = article(["Pérez, Ana"], doi=doi)
        reference = apa_reference(meta, "x", markdown=True)
        # The link is kept as is: no period after it, no escaped underscore.
        assert reference.endswith("*Revista*, *3*(2), 10–20. https://doi.org/10.1000/abc_1")


def test_markdown_italics_for_a_standalone_work_and_escapes():
    meta = DocumentMeta(title="El *mejor* libro", authors=("Pérez, Ana",), year=2001, publisher="Siglo XXI")
    assert apa_reference(meta, "x") == "Pérez, A. (2001). El *mejor* libro. Siglo XXI."
    assert apa_reference(meta, "x", markdown=True) == r"Pérez, A. (2001). *El \*mejor\* libro*. Siglo XXI."


def test_italic_segments_mark_what_apa_italicises():
    parts = apa_reference_parts(bundled()[SARAVI], SARAVI)
    assert [text for text, italic in parts if italic] == ["Sociológica", "13"]


def test_no_author_moves_the_title_to_the_author_position():
    standalone = DocumentMeta(title="Manual de estilo", year=2010, publisher="Editorial X")
    assert apa_reference(standalone, "x") == "Manual de estilo. (2010). Editorial X."
    assert apa_reference(standalone, "x", markdown=True) == "*Manual de estilo*. (2010). Editorial X."
    assert apa_in_text(standalone, "x", "p. 1", markdown=True) == "(*Manual de estilo*, 2010, p. 1)"
    paper = DocumentMeta(title="Redes de empresas y políticas públicas en la región andina", venue="Revista",
                         volume="5")
    assert apa_reference(paper, "x") == "Redes de empresas y políticas públicas en la región andina. (s. f.). Revista, 5."
    assert apa_in_text(paper, "x", "párr. 2") == '("Redes de empresas", s. f., párr. 2)'


def test_title_ending_in_question_mark_gets_no_period():
    meta = DocumentMeta(title="¿Qué es un clúster?", authors=("Pérez, Ana",), year=2001)
    assert apa_reference(meta, "x") == "Pérez, A. (2001). ¿Qué es un clúster?"


def test_nothing_known_is_nothing_invented():
    assert apa_reference(DocumentMeta(), "doc-1") == "[doc-1]. (s. f.)."
    assert apa_in_text(DocumentMeta(), "doc-1", "") == "([doc-1], s. f.)"


@pytest.mark.parametrize("author, formatted", [
    ("Saraví, Gonzalo A.", "Saraví, G. A."),
    ("Pillihuaman Huamani, Juan C.", "Pillihuaman Huamani, J. C."),
    ("Gómez, María de la Luz", "Gómez, M. L."),
    ("King, Martin Luther, Jr.", "King, M. L., Jr."),
    ("Banco Interamericano de Desarrollo", "Banco Interamericano de Desarrollo"),
])
def test_author_format(author, formatted):
    assert format_author(author) == formatted


def test_short_title_keeps_the_first_words_of_the_main_title():
    assert short_title("Micro y pequeñas empresas en los distritos industriales de México: la necesidad") == (
        "Micro y pequeñas empresas"
    )
    assert short_title("Clústeres: teoría y práctica") == "Clústeres"
