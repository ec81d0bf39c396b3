import importlib.util
from pathlib import Path

from kb.evaluation import contains_answer, load_set, metrics

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_use_the_rank_of_the_first_relevant_passage():
    assert metrics([1, 3, None, 7]) == {"queries": 4, "hit_at_1": 0.25, "recall_at_5": 0.5,
                                        "mrr_at_10": round((1 + 1 / 3 + 1 / 7) / 4, 3)}


def test_relevance_survives_cleaning_and_chunk_cuts():
    answer = "El distrito es una entidad socio- territorial caracterizada por la presencia"
    assert contains_answer("Para Becattini, el distrito es una entidad socio-territorial caracterizada por la presencia activa", answer)
    assert contains_answer("[corte] socio-territorial caracterizada por la presencia simultánea", answer)  # second half
    assert not contains_answer("El clúster es una concentración geográfica de empresas", answer)


def test_every_labelled_answer_lies_in_its_document():
    from ingest.clean import clean_pages
    from ingest.extract import extract
    from kb.cite.catalog import slugify
    from kb.config import bundled_corpus_dir

    items = load_set(ROOT / "eval" / "dev.jsonl")
    assert len({item["id"] for item in items}) == len(items)
    needed = {item["doc_id"] for item in items}
    sources = [*bundled_corpus_dir().glob("*.txt"), *(ROOT.parent / "shared" / "real-pdfs").glob("*.pdf")]
    texts: dict[str, str] = {}
    for path in sources:
        if slugify(path.name) in needed:
            pages = clean_pages(extract(path).pages)
            texts[slugify(path.name)] = "\n\n".join(page.text for page in pages)
    checked = [item for item in items if item["doc_id"] in texts]  # real PDFs: where ../shared has them
    assert len(checked) >= 100
    for item in checked:
        assert contains_answer(texts[item["doc_id"]], item["answer"]), item["id"]


def test_the_dev_set_cannot_be_tuned_one_way():
    """At least 150 questions: 50 sharing their passage's words, 50 paraphrased, 20 in
    English, 15 misspelled, 15 keyword-only; over the bundled corpus and the real PDFs."""
    from collections import Counter

    from kb.config import bundled_corpus_dir

    items = load_set(ROOT / "eval" / "dev.jsonl")
    styles = Counter(item["style"] for item in items)
    assert len(items) >= 150
    assert styles["shared-words"] >= 50 and styles["paraphrase"] >= 50 and styles["english"] >= 20
    assert styles["misspelled"] >= 15 and styles["keyword"] >= 15
    bundled = {p.stem for p in bundled_corpus_dir().glob("*.txt")}
    assert 50 <= sum(item["doc_id"] in bundled for item in items) <= len(items) - 50


def test_report_is_written_whole_and_metrics_read_alike(tmp_path):
    import json

    from kb.evaluation import format_metrics, write_report

    out = write_report(tmp_path / "results" / "x.json", {"hit_at_1": 0.5})
    assert json.loads(out.read_text(encoding="utf-8")) == {"hit_at_1": 0.5}
    assert not list(out.parent.glob("*.tmp"))
    assert format_metrics(metrics([1, None])) == "hit@1 0.500  recall@5 0.500  MRR@10 0.500"


def _eval_module(name, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "eval"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "eval" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cell_judgments_are_one_per_cell_and_quote(monkeypatch):
    compare = _eval_module("compare", monkeypatch)
    judged = load_set(ROOT / "eval" / "compare-cells.jsonl")
    keys = [compare.cell_key(j) for j in judged]
    assert len(set(keys)) == len(keys) and all(isinstance(j["label"], bool) and j["note"] for j in judged)


def test_signal_auc_and_logistic_regression(monkeypatch):
    import numpy as np

    signals = _eval_module("compare_signals", monkeypatch)
    labels = np.array([True, False, True, False])
    # Pairs (relevant, irrelevant): 0.9 > 0.1, 0.9 > 0.5, 0.5 > 0.1, and one tie counted half.
    assert signals.auc(labels, np.array([0.9, 0.1, 0.5, 0.5])) == 3.5 / 4
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    w = signals.logistic(x, np.array([0.0, 0.0, 1.0, 1.0]))
    assert w[0] > 0 and list(np.hstack([x, np.ones((4, 1))]) @ w > 0) == [False, False, True, True]
