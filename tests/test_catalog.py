import pytest

from kb import config
from kb.cite.catalog import CATALOG_FILE, CatalogError, load_catalog, slugify
from kb.records import DocumentMeta


@pytest.mark.parametrize("name, slug", [
    ("saravi-1998-distritos-mexico.txt", "saravi-1998-distritos-mexico"),
    ("Informe Final CEPAL (2025).PDF", "informe-final-cepal-2025"),
    ("Economía_Solidaria ñandú.pdf", "economia-solidaria-nandu"),
    ("###.pdf", "documento"),
])
def test_doc_id_is_the_slug_of_the_file_name(name, slug):
    assert slugify(name) == slug


def test_bundled_catalog_holds_what_is_known_and_nothing_more():
    catalog = load_catalog(config.bundled_corpus_dir() / CATALOG_FILE)
    files = sorted(p.name for p in config.bundled_corpus_dir().glob("*.txt"))
    assert sorted(catalog) == files
    saravi = catalog["saravi-1998-distritos-mexico.txt"]
    assert saravi.authors == ("Saraví, Gonzalo A.",) and saravi.year == 1998
    assert saravi.venue == "Sociológica" and saravi.doi is None
    pillihuaman = catalog["pillihuaman-2025-villa-el-salvador.txt"]
    assert pillihuaman.doi == "10.48082/espacios-a25v46n03p04"
    # Author, year and title are not stated in these documents: they stay empty.
    fomin = catalog["fomin-bid-clusters-distritos.txt"]
    assert (fomin.title, fomin.authors, fomin.year) == (None, (), None)
    loginn = catalog["loginn-2018-asociatividad-medellin.txt"]
    assert (loginn.title, loginn.authors, loginn.year) == (None, (), 2018)
    assert catalog["cepal-sercotec-2025-mipymes-chile.txt"].title is None


def test_missing_catalog_is_empty(tmp_path):
    assert load_catalog(tmp_path / CATALOG_FILE) == {}


@pytest.mark.parametrize("body, message", [
    ('["a.pdf"]\ntitle = "x"\nautor = "y"\n', "campo desconocido en ['a.pdf']: autor"),
    ('["a.pdf"]\nyear = "1998"\n', "year debe ser un número entero"),
    ('["a.pdf"]\nauthors = "Saraví"\n', "authors debe ser una lista"),
    ('["a.pdf"\ntitle = 1\n', "catálogo no válido"),
])
def test_bad_catalog_is_one_line_naming_the_file(tmp_path, body, message):
    path = tmp_path / CATALOG_FILE
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_values_are_normalised_to_strings(tmp_path):
    path = tmp_path / CATALOG_FILE
    path.write_text('["a.pdf"]\nvolume = 13\nauthors = ["Becattini, Giacomo"]\n', encoding="utf-8")
    assert load_catalog(path)["a.pdf"] == DocumentMeta(volume="13", authors=("Becattini, Giacomo",))
