"""Ingest into an index with the fake embedder: what is indexed, skipped, replaced, reported."""

import shutil

import pytest

from ingest.pipeline import ingest
from kb import config
from kb.ask.search import search
from kb.index import KnowledgeBase
from kb.records import Filters
from tests.fakes import FAKE_MODEL, FakeEmbedder


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "index", FAKE_MODEL)
    yield base
    base.close()


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(config.bundled_corpus_dir(), folder)
    return folder


def test_bundled_corpus_is_indexed_with_catalog_metadata(kb, corpus):
    assert kb.store.is_empty()
    summary = ingest(kb, FakeEmbedder(), [corpus])
    assert not kb.store.is_empty()
    assert summary.count("indexed") == 5 and summary.count("failed") == 0
    docs = {d.doc_id: d for d in kb.store.documents()}
    assert set(docs) == {p.stem for p in corpus.glob("*.txt")}
    assert docs["saravi-1998-distritos-mexico"].meta.authors == ("Saraví, Gonzalo A.",)
    assert docs["fomin-bid-clusters-distritos"].meta.year is None
    assert len(kb.vectors) == kb.store.chunk_count() > 100


def test_second_ingest_skips_unchanged_files_without_embedding(kb, corpus):
    ingest(kb, FakeEmbedder(), [corpus])
    again = FakeEmbedder()
    summary = ingest(kb, again, [corpus])
    assert summary.count("unchanged") == 5 and again.calls == 0


def test_changed_file_is_replaced_and_duplicate_reported(kb, corpus, tmp_path):
    ingest(kb, FakeEmbedder(), [corpus])
    saravi = corpus / "saravi-1998-distritos-mexico.txt"
    saravi.write_text(saravi.read_text(encoding="utf-8") + "\n\nUn párrafo nuevo sobre el mesoespacio.", encoding="utf-8")
    copy = tmp_path / "copia.txt"
    shutil.copy(corpus / "fomin-bid-clusters-distritos.txt", copy)
    summary = ingest(kb, FakeEmbedder(), [corpus, copy])
    by_status = {r.path.name: r for r in summary.results}
    assert by_status["saravi-1998-distritos-mexico.txt"].status == "replaced"
    assert by_status["copia.txt"].status == "duplicate"
    assert "mismo contenido que fomin-bid-clusters-distritos" in by_status["copia.txt"].reason
    assert len(kb.store.documents()) == 5
    assert len(kb.vectors) == kb.store.chunk_count()


def test_prune_drops_documents_whose_files_are_gone(kb, corpus):
    ingest(kb, FakeEmbedder(), [corpus])
    (corpus / "loginn-2018-asociatividad-medellin.txt").unlink()
    summary = ingest(kb, FakeEmbedder(), [corpus], prune=True)
    assert summary.pruned == ["loginn-2018-asociatividad-medellin"]
    assert kb.store.document("loginn-2018-asociatividad-medellin") is None
    assert len(kb.vectors) == kb.store.chunk_count()


def test_bad_files_fail_with_one_line_and_the_rest_is_indexed(kb, tmp_path, corpus):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "vacio.pdf").write_bytes(b"")
    (bad / "pagina.pdf").write_text("<html><body>Access Denied</body></html>")
    (bad / "latin1.txt").write_bytes("Cooperación en el distrito".encode("latin-1"))
    (bad / "foto.png").write_bytes(b"\x89PNG")
    summary = ingest(kb, FakeEmbedder(), [bad, corpus / "saravi-1998-distritos-mexico.txt"])
    failed = {r.path.name: r.reason for r in summary.results if r.status == "failed"}
    assert set(failed) == {"vacio.pdf", "pagina.pdf", "latin1.txt"}
    assert all(reason.startswith(str(bad)) and "\n" not in reason for reason in failed.values())
    assert [(i.path.name, i.reason) for i in summary.ignored] == [("foto.png", "extensión no admitida: .png")]
    assert summary.count("indexed") == 1


def test_an_exception_midway_leaves_the_previous_index_intact(kb, corpus, monkeypatch):
    ingest(kb, FakeEmbedder(), [corpus])
    before = kb.store.chunk_count()
    saravi = corpus / "saravi-1998-distritos-mexico.txt"
    saravi.write_text(saravi.read_text(encoding="utf-8") + "\n\nCambio.", encoding="utf-8")

    import kb.store.db as store_module

    def boom(*args, **kwargs):
        raise RuntimeError("corte de luz")

    monkeypatch.setattr(store_module.Store, "insert_chunks", boom)
    with pytest.raises(RuntimeError):
        ingest(kb, FakeEmbedder(), [saravi])
    monkeypatch.undo()
    assert kb.store.chunk_count() == before
    reopened = KnowledgeBase(kb.directory, FAKE_MODEL)
    hits = search(reopened, FakeEmbedder(), "mesoespacio institucional", k=3, filters=Filters(doc_ids=("saravi-1998-distritos-mexico",)))
    assert hits and all(h.chunk.doc_id == "saravi-1998-distritos-mexico" for h in hits)
    reopened.close()


def test_pdf_without_text_layer_is_reported_not_indexed(kb, tmp_path, monkeypatch):
    import pymupdf

    from ingest import ocr

    monkeypatch.setattr(ocr, "installed_languages", lambda: None)  # with OCR: tests/test_ocr.py

    scan = tmp_path / "escaneo.pdf"
    doc = pymupdf.open()
    for _ in range(3):
        page = doc.new_page()
        page.draw_rect(pymupdf.Rect(50, 50, 300, 300), fill=(0.2, 0.2, 0.2))  # drawn, no text
    doc.save(scan)
    summary = ingest(kb, FakeEmbedder(), [scan])
    [result] = summary.results
    assert result.status == "failed"
    assert result.reason == f"{scan}: sin capa de texto: páginas 1–3; requiere OCR"
    assert kb.store.documents() == []


def test_pdf_pages_are_cited_by_pdf_page_number(kb, tmp_path):
    import pymupdf

    pdf = tmp_path / "informe.pdf"
    doc = pymupdf.open()
    topics = ["la confianza", "los proveedores", "las cooperativas", "el crédito", "la exportación",
              "las ferias", "la formación", "los sindicatos", "el municipio", "la innovación",
              "los talleres", "la calidad", "el transporte", "los precios", "la maquinaria"]
    for n in range(1, 4):
        page = doc.new_page()
        sentences = [f"En el año {1990 + n} el grupo {n} estudió {t} de las empresas del distrito número {i}."
                     for i, t in enumerate(topics)]
        if n == 2:
            sentences.insert(7, "El mesoespacio institucional aparece solo en esta página.")
        page.insert_textbox(pymupdf.Rect(50, 50, 550, 800), " ".join(sentences), fontsize=11)
    doc.save(pdf)
    ingest(kb, FakeEmbedder(), [pdf])
    [hit] = search(kb, FakeEmbedder(), "mesoespacio", k=1, mode="lexical")
    start, end = hit.chunk.page_start, hit.chunk.page_end
    assert start <= 2 <= end and end <= 3
    assert hit.citation.endswith(f", p. {start}" if start == end else f", pp. {start}–{end}")
    # The passage's sentence is on PDF page 2 of the stored clean text.
    assert "mesoespacio" in kb.store.pages("informe")[1].text


def test_moved_file_keeps_its_document_without_re_embedding(kb, corpus, tmp_path):
    ingest(kb, FakeEmbedder(), [corpus])
    moved = tmp_path / "otra-carpeta"
    moved.mkdir()
    (corpus / "saravi-1998-distritos-mexico.txt").rename(moved / "saravi-1998-distritos-mexico.txt")
    again = FakeEmbedder()
    summary = ingest(kb, again, [moved])
    assert [r.status for r in summary.results] == ["unchanged"] and again.calls == 0
    assert kb.store.document("saravi-1998-distritos-mexico").path == str(moved / "saravi-1998-distritos-mexico.txt")


def test_a_stale_vector_file_is_rebuilt_from_sqlite(kb, corpus):
    ingest(kb, FakeEmbedder(), [corpus])
    (kb.directory / "vectors.faiss").write_bytes(b"garbage")
    reopened = KnowledgeBase(kb.directory, FAKE_MODEL)
    assert len(reopened.vectors) == reopened.store.chunk_count()
    assert search(reopened, FakeEmbedder(), "mesoespacio", k=1, mode="dense")
    reopened.close()


def test_index_refuses_to_open_with_another_model(kb, corpus):
    from dataclasses import replace

    from kb.errors import ModelMismatchError

    ingest(kb, FakeEmbedder(), [corpus / "saravi-1998-distritos-mexico.txt"])
    other = replace(FAKE_MODEL, name="otro-modelo", fingerprint="sha256:" + "0" * 64)
    with pytest.raises(ModelMismatchError, match="no se mezclan vectores de modelos distintos"):
        KnowledgeBase(kb.directory, other)
    assert KnowledgeBase(kb.directory, FAKE_MODEL).store.chunk_count() == kb.store.chunk_count()


def test_an_edited_document_re_embeds_only_its_new_chunks(kb, corpus):
    ingest(kb, FakeEmbedder(), [corpus])
    saravi = corpus / "saravi-1998-distritos-mexico.txt"
    chunks_before = len(kb.store.chunk_ids_of("saravi-1998-distritos-mexico"))
    saravi.write_text(saravi.read_text(encoding="utf-8") + "\n\nUn párrafo final añadido sobre el mesoespacio.",
                      encoding="utf-8")
    embedder = FakeEmbedder()
    ingest(kb, embedder, [saravi])
    assert 0 < embedder.calls <= 2 < chunks_before
    new_chunk = next(c for c in kb.store.chunks(kb.store.chunk_ids_of("saravi-1998-distritos-mexico")).values()
                     if "Un párrafo final añadido" in c.text)
    # The new chunk's vector is in the index: its own text finds it first.
    [hit] = search(kb, FakeEmbedder(), new_chunk.text, k=1, mode="dense")
    assert hit.chunk.chunk_id == new_chunk.chunk_id
    assert len(kb.vectors) == kb.store.chunk_count()


@pytest.mark.parametrize("metadata, guess, title, authors", [
    ({"title": "doi:10.1016/j.respol.2006.04.001"}, "Emergence of the NIS concept", "Emergence of the NIS concept", ()),
    ({"title": "MCD_Desarrollo humano pobreza y desigualdades_v9", "author": "WinXP"}, None, None, ()),
    ({"title": "AnuarioEco..pmd", "author": "yanet"}, "ENFOQUES DEL NEOESTRUCTURALISMO", "ENFOQUES DEL NEOESTRUCTURALISMO", ()),
    ({"title": "Revisión del modelo de sustitución de importaciones", "author": "M. Laura Vazquez Maggio"}, "otra",
     "Revisión del modelo de sustitución de importaciones", ("M. Laura Vazquez Maggio",)),
    ({"author": "Reyes, Giovanni E.\n\n", "creationDate": "D:20090101"}, None, None, ("Reyes, Giovanni E.",)),
])
def test_pdf_metadata_is_used_only_when_it_looks_real(metadata, guess, title, authors):
    from ingest.pipeline import _metadata_from_pdf

    meta = _metadata_from_pdf(metadata, guess)
    assert (meta.title, meta.authors) == (title, authors)
    assert meta.year is None  # a file's creation date is never a publication year


def test_editing_the_catalog_updates_metadata_without_re_embedding(kb, corpus):
    ingest(kb, FakeEmbedder(), [corpus])
    catalog = corpus / "catalog.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace(
        '["fomin-bid-clusters-distritos.txt"]\n', '["fomin-bid-clusters-distritos.txt"]\ntitle = "Clusters y distritos"\n'),
        encoding="utf-8")
    again = FakeEmbedder()
    ingest(kb, again, [corpus])
    assert again.calls == 0
    assert kb.store.document("fomin-bid-clusters-distritos").meta.title == "Clusters y distritos"
    assert kb.store.document("fomin-bid-clusters-distritos").meta.publisher == "FOMIN/BID"


def test_a_folder_of_thousands_of_files(kb, tmp_path):
    folder = tmp_path / "descargas"
    folder.mkdir()
    for i in range(2500):
        (folder / f"imagen-{i:04d}.jpg").write_bytes(b"\xff\xd8\xff")
    for i in range(40):
        (folder / f"nota-{i:02d}.txt").write_text(f"Nota {i}: la cooperación número {i} entre empresas del distrito.",
                                                  encoding="utf-8")
    summary = ingest(kb, FakeEmbedder(), [folder])
    assert len(summary.ignored) == 2500 and summary.ignored[0].path == folder / "imagen-0000.jpg"
    assert summary.count("indexed") == 40 and summary.count("failed") == 0


def test_password_protected_pdf_fails_alone(kb, tmp_path, corpus):
    import pymupdf

    locked = tmp_path / "privado.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((50, 80), "Informe confidencial sobre cooperativas.")
    doc.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="dueño", user_pw="lector")
    summary = ingest(kb, FakeEmbedder(), [locked, corpus / "saravi-1998-distritos-mexico.txt"])
    failed = [r for r in summary.results if r.status == "failed"]
    assert [r.reason for r in failed] == [f"{locked}: PDF protegido con contraseña; no se puede leer sin ella"]
    assert summary.count("indexed") == 1


# --- Extraction overlapped with embedding ------------------------------------


def test_overlapped_ingest_stores_what_each_file_gives_on_its_own(kb, corpus, tmp_path):
    import pymupdf

    from ingest.chunk import chunk_pages
    from ingest.clean import clean_pages
    from ingest.extract import extract

    pdf = tmp_path / "informe.pdf"
    doc = pymupdf.open()
    for n in range(3):
        doc.new_page().insert_textbox(pymupdf.Rect(72, 72, 520, 760), f"Sección {n}. La cooperativa agrícola. " * 40)
    doc.save(pdf)
    files = sorted(corpus.glob("*.txt")) + [pdf]
    summary = ingest(kb, FakeEmbedder(), files)

    assert [r.path for r in summary.results] == files  # results in file order
    reference = FakeEmbedder()
    for path, result in zip(files, summary.results):
        expected = chunk_pages(result.doc_id, clean_pages(extract(path).pages))
        stored = kb.store.vectors_of(result.doc_id, FAKE_MODEL.dimension)
        assert [text for _, text in kb.store.chunk_texts(result.doc_id)] == [c.text for c in expected]
        assert set(stored) == {c.chunk_id for c in expected}
        vectors = reference.encode_passages([c.text for c in expected])
        for chunk, vector in zip(expected, vectors):
            assert (stored[chunk.chunk_id] == vector).all()


def test_unchanged_files_are_not_extracted_again(kb, corpus, monkeypatch):
    import ingest.extract as extract_module

    ingest(kb, FakeEmbedder(), [corpus])
    extracted = []
    real_extract = extract_module.extract
    monkeypatch.setattr(extract_module, "extract", lambda path: extracted.append(path) or real_extract(path))
    saravi = corpus / "saravi-1998-distritos-mexico.txt"
    saravi.write_text(saravi.read_text(encoding="utf-8") + "\n\nUn párrafo nuevo.", encoding="utf-8")
    summary = ingest(kb, FakeEmbedder(), [corpus])
    assert summary.count("unchanged") == 4 and summary.count("replaced") == 1
    assert extracted == [saravi]


def test_a_file_named_like_another_gets_its_own_chunk_ids(kb, corpus, tmp_path):
    other = tmp_path / "otra" / "saravi-1998-distritos-mexico.txt"
    other.parent.mkdir()
    other.write_text("Otro texto. El distrito industrial de Prato y sus empresas.", encoding="utf-8")
    summary = ingest(kb, FakeEmbedder(), [corpus / other.name, other])
    assert [r.doc_id for r in summary.results] == ["saravi-1998-distritos-mexico", "saravi-1998-distritos-mexico-2"]
    ids = kb.store.vectors_of("saravi-1998-distritos-mexico-2", FAKE_MODEL.dimension)
    assert ids and all(i.startswith("saravi-1998-distritos-mexico-2:") for i in ids)


def test_content_freed_earlier_in_the_same_run_is_indexed(kb, tmp_path):
    # b.txt holds a.txt's old text: stored when the run began, gone once a.txt is replaced.
    folder = tmp_path / "notas"
    folder.mkdir()
    old = "El distrito industrial. Cooperación entre empresas del territorio."
    (folder / "a.txt").write_text(old, encoding="utf-8")
    ingest(kb, FakeEmbedder(), [folder])
    (folder / "a.txt").write_text("Texto nuevo sobre cooperativas agrícolas.", encoding="utf-8")
    (folder / "b.txt").write_text(old, encoding="utf-8")
    summary = ingest(kb, FakeEmbedder(), [folder])
    assert [(r.path.name, r.status) for r in summary.results] == [("a.txt", "replaced"), ("b.txt", "indexed")]
    assert [text for _, text in kb.store.chunk_texts("b")] == [old]


def test_an_error_stops_the_reader_thread_too(kb, corpus, monkeypatch):
    import threading

    import kb.store.db as store_module

    def boom(*args, **kwargs):
        raise RuntimeError("corte de luz")

    monkeypatch.setattr(store_module.Store, "insert_chunks", boom)
    progress = []
    with pytest.raises(RuntimeError):
        ingest(kb, FakeEmbedder(), [corpus], progress=progress.append)
    assert {p.files_done for p in progress} == {0}  # stopped at the first file
    assert not [t for t in threading.enumerate() if t.name == "kb-ingest-prepare"]


def test_progress_moves_with_each_batch_of_passages_and_names_each_finished_file(kb, corpus, monkeypatch):
    import ingest.pipeline as pipeline

    monkeypatch.setattr(pipeline, "EMBED_BATCH", 8)
    reports = []
    summary = ingest(kb, FakeEmbedder(), [corpus], progress=reports.append)
    # Within a file, passages are reported as they are embedded, 8 at a time.
    first = [p for p in reports if p.files_done == 0 and p.current_total]
    assert [p.current_chunks for p in first][:3] == [0, 8, 16] and first[-1].current_chunks == first[-1].current_total
    assert all(a.fraction <= b.fraction for a, b in zip(reports, reports[1:]))
    assert reports[-1].fraction == 1.0 and reports[-1].chunks == kb.store.chunk_count()
    # Each file's result comes with the next report, the last one with the final report.
    finished = [p.finished for p in reports if p.finished is not None]
    assert finished == summary.results


def test_kb_ingest_without_a_terminal_prints_a_line_per_file(tmp_path, corpus, monkeypatch):
    from click.testing import CliRunner

    import kb.cli as cli_module
    from kb.cli import cli

    monkeypatch.setattr(cli_module, "_open_kb",
                        lambda *_, **__: (KnowledgeBase(tmp_path / "idx", FAKE_MODEL), FakeEmbedder()))
    (corpus / "roto.pdf").write_bytes(b"%PDF-1.4 roto")
    result = CliRunner().invoke(cli, ["ingest", str(corpus)])  # CliRunner's output is no terminal
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert len(lines) == 6 and lines[0].startswith("[1/6] ")
    assert "[6/6] saravi-1998-distritos-mexico.txt: indexado · " in result.output
    assert any(line.endswith("roto.pdf: fallido") for line in lines)
    assert result.output.index("[1/6]") < result.output.index("Indexados: 5")
