import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "eval" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metrics_use_the_rank_of_the_first_relevant_passage():
    ev = load("embeddings")
    ranked = [[3, 1, 2], [5, 6, 7, 8, 9, 4], [1, 2, 3]]
    relevant = [{3}, {4, 0}, {42}]
    m = ev.metrics(ranked, relevant)
    assert m == {"queries": 3, "hit_at_1": round(1 / 3, 3), "recall_at_5": round(1 / 3, 3),
                 "mrr_at_10": round((1 + 1 / 6) / 3, 3)}


@pytest.mark.parametrize("set_name", ["dev.jsonl"])
def test_every_labelled_answer_lies_inside_a_corpus_passage(set_name):
    ev = load("embeddings")
    items = ev.load_set(ROOT / "eval" / set_name)
    assert len(items) >= 40
    doc_ids, passages = ev.corpus_passages()
    collapsed = [ev.collapse(p) for p in passages]
    for item in items:
        answer = ev.collapse(item["answer"])
        assert any(d == item["doc_id"] and answer in p for d, p in zip(doc_ids, collapsed)), item["id"]


def test_retrieval_relevance_survives_cleaning_and_chunk_cuts():
    ev = load("retrieval")
    answer = "El distrito es una entidad socio- territorial caracterizada por la presencia"
    assert ev.contains_answer("Para Becattini, el distrito es una entidad socio-territorial caracterizada por la presencia activa", answer)
    assert ev.contains_answer("[corte] socio-territorial caracterizada por la presencia simultánea", answer)  # second half
    assert not ev.contains_answer("El clúster es una concentración geográfica de empresas", answer)
    assert ev.metrics([1, 3, None, 7]) == {"queries": 4, "hit_at_1": 0.25, "recall_at_5": 0.5,
                                           "mrr_at_10": round((1 + 1 / 3 + 1 / 7) / 4, 3)}
