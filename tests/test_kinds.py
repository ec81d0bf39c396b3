"""Passage kinds: reference lists, tables of contents, front matter and unreadable OCR
are stored but kept out of search, answers, comparisons and tags."""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb.cli as cli_module
from ingest.clean import clean_pages
from ingest.extract import extract
from ingest.kinds import passage_kind
from ingest.pipeline import (
    CHUNKING,
    ingest,
    passages,
    rechunk_if_changed,
    upgrade_passages,
)
from kb.ask.search import search
from kb.config import bundled_corpus_dir
from kb.index import KnowledgeBase
from tests.fakes import FAKE_MODEL, FakeEmbedder

REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"

BODY = ("Becattini define el distrito industrial como una entidad socioterritorial caracterizada por la "
        "presencia activa de una comunidad de personas y de una población de empresas en un área "
        "territorial delimitada natural e históricamente. En el distrito, a diferencia de otros ambientes, "
        "la comunidad y las empresas tienden a fundirse, y la cooperación convive con la competencia.")
REFERENCES = "\n\n".join([
    "Bibliografía",
    "Becattini, G. (1990). The Marshallian industrial district as a socio-economic notion. En Pyke, F., "
    "Becattini, G. y Sengenberger, W. (eds.), Industrial districts and inter-firm co-operation in Italy, "
    "Ginebra: IILS, pp. 37-51.",
    "Becattini, G. (2002). Del distrito industrial marshalliano a la teoría del distrito contemporánea. "
    "Investigaciones Regionales, 1, pp. 9-32.",
    "Porter, M. E. (1990). The Competitive Advantage of Nations. Nueva York: Free Press.",
    "Schmitz, H. (1995). Collective efficiency: growth path for small-scale industry. Journal of "
    "Development Studies, 31 (4), pp. 529-566.",
])


def real_passages(name: str, ocr: bool = True):
    path = REAL_PDFS / name
    if not path.exists():
        pytest.skip(f"real PDF not available (shared/real-pdfs is absent outside the workplace): {path}")
    return passages(path.stem, clean_pages(extract(path, ocr=ocr).pages))


def test_a_reference_list_is_bibliography_and_prose_that_cites_is_body():
    assert passage_kind(REFERENCES, None) == "bibliography"
    assert passage_kind(REFERENCES.split("\n\n", 1)[1], "Bibliografía") == "bibliography"
    cited = BODY + " Así lo sostienen Becattini (1990), Porter (1990) y Schmitz (1995)."
    assert passage_kind(cited, "2. El distrito industrial") == "body"


def test_contents_index_and_front_matter_are_told_apart():
    contents = "\n".join(f"{n}. Capítulo sobre asociatividad rural {p}" for n, p in zip(range(1, 7), range(5, 60, 9)))
    assert passage_kind(contents, None) == "toc"
    index = "\n".join(f"{w}, {n}, {n + 7}" for w, n in
                      [("asociatividad", 3), ("capital social", 12), ("clúster", 20), ("confianza", 33)])
    assert passage_kind(index, "Índice analítico de materias") == "index"
    credits = "ISBN: 978-84-695-7208-5\n\nImpreso en España. Todos los derechos reservados."
    assert passage_kind(credits, None) == "front"


def test_the_bundled_corpus_is_all_body_text():
    for path in sorted(bundled_corpus_dir().glob("*.txt")):
        kinds = {c.kind for c in passages(path.stem, clean_pages(extract(path).pages))}
        assert kinds == {"body"}, path.name


def test_real_reference_lists_are_bibliography():
    sharif = real_passages("en_sharif_2006_national_innovation_systems.pdf")
    on_references = [c for c in sharif if c.page_start and c.page_start >= 20]
    assert on_references and all(c.kind == "bibliography" for c in on_references)
    assert sum(c.kind == "body" for c in sharif) >= 100
    briceno = real_passages("es_briceno_estructuralismo_cepal_integracion.pdf")
    assert [c.kind for c in briceno if c.text.startswith("BIBLIOGRAFÍA")] == ["bibliography"]
    assert all(c.kind == "body" for c in briceno if c.page_start and c.page_start < 29)


def test_real_scan_ocr_layer_is_junk_and_real_front_matter_and_contents_are_found():
    # Its OCR layer as it is; ingest recognises the pages again (tests/test_ocr.py).
    seers = real_passages("en_seers_1963_limitations_special_case_SCAN.pdf", ocr=False)
    assert sum(c.kind == "ocr-junk" for c in seers) >= 0.9 * len(seers)
    manual = real_passages("es_desarrollo_humano_pobreza_desigualdades.pdf")
    credits = [c for c in manual if c.page_start == 2 and c.kind == "front"]
    assert any("@" in c.text for c in credits) and any("ISBN" in c.text for c in credits)
    assert [c.kind for c in manual if c.page_start == 3][0] == "toc"


@pytest.fixture
def library(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "distritos.txt").write_text(f"{BODY}\n\n{REFERENCES}\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), [corpus])
    yield kb
    kb.close()


def test_search_skips_the_bibliography_unless_asked(library):
    query = "Becattini distrito industrial comunidad de personas población de empresas"
    for mode in ("lexical", "dense", "hybrid"):
        hits = search(library, FakeEmbedder(), query, k=5, mode=mode)
        assert [h.chunk.kind for h in hits] == ["body"]
        every = search(library, FakeEmbedder(), query, k=5, mode=mode, every_kind=True)
        assert {h.chunk.kind for h in every} == {"body", "bibliography"}


def test_a_bibliography_is_not_tagged(library):
    counts = library.store.concept_counts()
    assert counts.get("michael-porter", {}) == {}  # Porter is named only in the reference list
    assert counts["becattini"] == {"distritos": 1}


def test_cli_search_todo_labels_what_is_not_body_text(library, monkeypatch):
    monkeypatch.setattr(cli_module, "_open_kb", lambda *_: (KnowledgeBase(library.directory, FAKE_MODEL),
                                                            FakeEmbedder()))
    plain = CliRunner().invoke(cli_module.cli, ["search", "Porter Competitive Advantage", "--mode", "lexical"])
    assert plain.exit_code == 0 and "Sin resultados." in plain.output
    every = CliRunner().invoke(cli_module.cli, ["search", "Porter Competitive Advantage", "--mode", "lexical",
                                                "--todo"])
    first = next(line for line in every.output.splitlines() if line.startswith("[1] "))
    assert first.startswith("[1] distritos (s. f.), párrs. 2") and first.endswith(" (bibliografía)")


def test_an_index_of_an_older_chunker_is_chunked_again_once(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(bundled_corpus_dir(), corpus)
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), [corpus])
    current = {row.chunk_id for row in kb.store.chunks(kb.store.chunk_ids()).values()}
    # What an older kb left: other passages, no kinds, no "chunking" setting.
    with kb.store.atomic():
        kb.store.db.execute("UPDATE chunks SET text = text || ' (versión anterior)', chunk_id = chunk_id || '-v1'")
        kb.store.db.execute("DELETE FROM settings WHERE key = 'chunking'")
    kb.close()
    messages = []
    embedder = FakeEmbedder()
    assert upgrade_passages(tmp_path / "index", FAKE_MODEL, embedder, notify=messages.append) == 5
    assert messages == ["El índice se hizo con una versión anterior de kb: se vuelven a dividir en pasajes y a "
                        "vectorizar sus 5 documentos (una sola vez)…"]
    kb = KnowledgeBase.read(tmp_path / "index", FAKE_MODEL)
    try:
        assert {row.chunk_id for row in kb.store.chunks(kb.store.chunk_ids()).values()} == current
        assert kb.store.get_setting("chunking") == CHUNKING
        hits = search(kb, FakeEmbedder(), "mesoespacio institucional", k=3, mode="lexical")
        assert hits[0].chunk.doc_id == "saravi-1998-distritos-mexico"
        assert "(versión anterior)" not in hits[0].chunk.text
        assert "mesoespacio" in hits[0].tags
    finally:
        kb.close()
    assert upgrade_passages(tmp_path / "index", FAKE_MODEL, FakeEmbedder(), notify=messages.append) == 0
    assert len(messages) == 1


def test_an_interrupted_rechunking_goes_on_where_it_stopped(tmp_path, monkeypatch):
    import ingest.pipeline as pipeline

    corpus = tmp_path / "corpus"
    shutil.copytree(bundled_corpus_dir(), corpus)
    kb = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    ingest(kb, FakeEmbedder(), [corpus])
    with kb.store.atomic():
        kb.store.set_setting("chunking", "0")
    real = pipeline.passages
    calls = []

    def failing(doc_id, pages):
        calls.append(doc_id)
        if len(calls) == 3:
            raise RuntimeError("corte de luz")
        return real(doc_id, pages)

    monkeypatch.setattr(pipeline, "passages", failing)
    with pytest.raises(RuntimeError):
        rechunk_if_changed(kb, FakeEmbedder())
    monkeypatch.setattr(pipeline, "passages", real)
    assert rechunk_if_changed(kb, FakeEmbedder()) == 3  # the two done before the failure are not redone
    assert kb.store.get_setting("chunking") == CHUNKING
    assert kb.store.get_setting(f"chunking:{calls[0]}") is None
    kb.close()
