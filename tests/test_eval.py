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


def test_every_labelled_answer_lies_inside_a_corpus_passage():
    spec = importlib.util.spec_from_file_location("embeddings", ROOT / "eval" / "embeddings.py")
    embeddings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embeddings)
    items = load_set(ROOT / "eval" / "dev.jsonl")
    assert len(items) >= 40 and len({item["id"] for item in items}) == len(items)
    doc_ids, passages = embeddings.corpus_passages()
    for item in items:
        assert any(d == item["doc_id"] and contains_answer(p, item["answer"]) for d, p in zip(doc_ids, passages)), item["id"]


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
