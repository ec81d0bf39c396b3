"""Training questions: drafts become rows that name their passage by span, every shipped
row still resolves against ../shared/train-corpus, and the adapter merges into the weights."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from train import corpus, pairs
from train.corpus import Span

DOC = "es_prueba.txt"
FILLER = ("Los estudios de caso muestran resultados diversos según el territorio, la época y las "
          "instituciones que acompañan cada experiencia, y por eso conviene leerlos con cuidado. ")
TEXT = "\n\n".join(paragraph + " " + FILLER * 4 for paragraph in (
    "La economía social y solidaria agrupa cooperativas, mutuales y asociaciones que "
    "producen bienes y servicios con fines sociales antes que de lucro.",
    "El enfoque OVOP, un pueblo un producto, nació en la prefectura de Oita en 1979 y "
    "promueve que cada comunidad desarrolle un producto con identidad territorial.",
    "La heterogeneidad estructural describe la coexistencia de sectores de productividad "
    "muy alta con otros de productividad muy baja dentro de una misma economía.",
))


def make_corpus(folder: Path, text: str = TEXT) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DOC).write_text(text, encoding="utf-8")
    sha = hashlib.sha256((folder / DOC).read_bytes()).hexdigest()
    (folder / "MANIFEST.tsv").write_text(
        "filename\tsha256\tlanguage\tpages\tlicense_if_stated\n" f"{DOC}\t{sha}\tes\t1\t\n", encoding="utf-8")
    corpus.forget()
    return sha


@pytest.fixture
def tiny_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_TRAIN_CORPUS", str(tmp_path / "train-corpus"))
    sha = make_corpus(tmp_path / "train-corpus")
    yield tmp_path / "train-corpus", sha
    corpus.forget()


def passage_number(fragment: str) -> int:
    return next(n for n, p in enumerate(corpus.passages(DOC)) if fragment in p.text)


def draft(**fields) -> dict:
    base = {"doc": DOC, "p": passage_number("Oita"), "query": "¿Dónde nació el enfoque un pueblo un producto?",
            "answer": "nació en la prefectura de Oita en 1979", "voice": "dato", "style": "paraphrase", "lang": "es"}
    return {**base, **fields}


def test_a_draft_becomes_a_row_naming_its_passage_by_span(tiny_corpus, tmp_path):
    _, sha = tiny_corpus
    out = tmp_path / "pairs.jsonl"
    added, rejected = pairs.add([draft()], out)
    assert rejected == [] and len(added) == 1
    row = pairs.load(out)[0]
    assert row["sha256"] == sha and row["answer"] == "nació en la prefectura de Oita en 1979"
    assert "text" not in row and "passage" not in row  # the passage itself is never stored
    piece = corpus.passage_at(DOC, Span.from_row(row))
    assert piece is not None and "Oita en 1979" in piece.text
    assert pairs.problems([row]) == []


def test_drafts_that_do_not_quote_their_passage_are_refused_with_the_reason(tiny_corpus, tmp_path):
    out = tmp_path / "pairs.jsonl"
    cases = [
        draft(answer="nació en Tokio en 1990"),
        draft(p=passage_number("heterogeneidad")),  # the quote is in another passage
        draft(p=999),
        draft(doc="otro.pdf"),
        draft(voice="pregunta"),
        draft(query="  "),
    ]
    added, rejected = pairs.add(cases, out)
    assert added == []
    assert [r.reason for r in rejected] == [
        "answer not in passage", "answer not in passage", "no such passage", "unknown document",
        "voice not in ('concepto', 'comparación', 'dato')", "empty query"]
    assert pairs.load(out) == []


def test_a_quote_copied_with_a_slip_is_replaced_by_the_passage_text(tiny_corpus, tmp_path):
    added, rejected = pairs.add([draft(answer="nacio en la prefectura de Oita en 1979")], tmp_path / "p.jsonl")
    assert rejected == []
    assert added[0]["answer"] == "nació en la prefectura de Oita en 1979"


def test_the_same_question_twice_is_kept_once(tiny_corpus, tmp_path):
    out = tmp_path / "pairs.jsonl"
    pairs.add([draft()], out)
    added, rejected = pairs.add([draft(query="¿Dónde  nació el enfoque un pueblo un producto?")], out)
    assert added == [] and [r.reason for r in rejected] == ["duplicate question"]
    assert len(pairs.load(out)) == 1


def test_a_changed_document_is_reported_not_silently_misread(tiny_corpus, tmp_path):
    folder, _ = tiny_corpus
    out = tmp_path / "pairs.jsonl"
    pairs.add([draft()], out)
    row = pairs.load(out)[0]
    make_corpus(folder, TEXT.replace("Oita en 1979", "Oita hace décadas"))
    row["sha256"] = corpus.documents()[0].sha256  # same file name, new content
    found = pairs.problems([row])
    assert len(found) == 1 and row["id"] in found[0]


def test_held_out_questions_are_a_stable_tenth_of_passages():
    rows = [{"sha256": f"{i:064x}", "page_start": i % 7, "start": i * 13} for i in range(5000)]
    share = sum(pairs.held_out(r) for r in rows) / len(rows)
    assert 0.08 < share < 0.12
    assert [pairs.held_out(r) for r in rows[:50]] == [pairs.held_out(dict(r)) for r in rows[:50]]


def test_ranked_above_lists_the_passages_that_beat_the_positive():
    from train.mine import ranked_above

    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
    query = np.array([0.0, 1.0])
    assert ranked_above(query, vectors, positive=1) == [2, 3]
    assert ranked_above(query, vectors, positive=2) == []


@pytest.mark.skipif(not (corpus.DEFAULT_CORPUS / "MANIFEST.tsv").is_file() or not pairs.PAIRS.is_file(),
                    reason="../shared/train-corpus or train/pairs.jsonl is absent")
def test_every_shipped_training_row_still_resolves(monkeypatch):
    monkeypatch.delenv("KB_TRAIN_CORPUS", raising=False)
    rows = pairs.load()
    assert pairs.problems(rows) == []
    assert len(rows) >= 3000
    assert len({r["sha256"] for r in rows}) >= 40
    assert {r["voice"] for r in rows} == set(pairs.VOICES)
    english = sum(r["lang"] == "en" for r in rows) / len(rows)
    assert 0.08 <= english <= 0.25


def test_the_adapter_merges_into_exactly_the_weights_it_adapts(tmp_path):
    from safetensors.numpy import save_file

    from kb.model.adapter import merge

    rng = np.random.default_rng(0)
    state = {"encoder.layer.0.attention.self.query.weight": rng.normal(size=(6, 4)).astype(np.float32),
             "encoder.layer.0.attention.self.query.bias": np.zeros(6, np.float32),
             "embeddings.word_embeddings.weight": rng.normal(size=(10, 4)).astype(np.float32)}
    a = rng.normal(size=(2, 4)).astype(np.float16)
    b = rng.normal(size=(6, 2)).astype(np.float16)
    save_file({"encoder.layer.0.attention.self.query.lora_A": a,
               "encoder.layer.0.attention.self.query.lora_B": b}, str(tmp_path / "adapter.safetensors"))
    (tmp_path / "manifest.json").write_text(json.dumps({"scale": 2.0}), encoding="utf-8")
    merged = merge(state, tmp_path)
    expected = state["encoder.layer.0.attention.self.query.weight"] + 2.0 * (
        b.astype(np.float32) @ a.astype(np.float32))
    np.testing.assert_allclose(merged["encoder.layer.0.attention.self.query.weight"], expected, rtol=1e-6)
    assert merged["encoder.layer.0.attention.self.query.weight"].dtype == np.float32
    for unchanged in ("encoder.layer.0.attention.self.query.bias", "embeddings.word_embeddings.weight"):
        assert merged[unchanged] is state[unchanged]

    save_file({"encoder.layer.9.attention.self.query.lora_A": a,
               "encoder.layer.9.attention.self.query.lora_B": b}, str(tmp_path / "adapter.safetensors"))
    with pytest.raises(ValueError, match="no corresponde a ninguna capa"):
        merge(state, tmp_path)


def test_the_merged_model_embeds_as_the_trained_lora_model_does(tiny_packed, tiny_model, tmp_path):
    """What training optimised (base + LoRA layers) is what kb runs once merged into the weights."""
    import torch
    from sentence_transformers import SentenceTransformer

    from kb.model.convert import build_model_dir
    from kb.model.packed import read_packed
    from train.lora import LoraLinear, add_lora
    from train.run import TARGETS, save_adapter

    texts = ["query: distrito industrial", "passage: el clúster reúne empresas y proveedores"]
    trained = SentenceTransformer(str(tiny_model), device="cpu")
    before = trained.encode(texts)
    wrapped = add_lora(trained[0].auto_model, TARGETS, rank=4, alpha=8, dropout=0.0)
    assert len(wrapped) == 2 * 6  # every linear layer of both blocks, never the pooler
    torch.manual_seed(0)
    for module in trained[0].auto_model.modules():
        if isinstance(module, LoraLinear):
            torch.nn.init.normal_(module.lora_B, std=0.05)  # as if trained
    trained.eval()
    expected = trained.encode(texts)
    save_adapter(trained[0].auto_model, tmp_path / "adapter", {"note": "test"})

    merged_dir = build_model_dir(read_packed(tiny_packed), tmp_path / "merged", source="tiny",
                                 adapter_dir=tmp_path / "adapter")
    merged = SentenceTransformer(str(merged_dir), device="cpu").encode(texts)
    assert np.abs(merged - expected).max() < 1e-3  # float16 matrices
    assert np.abs(before - expected).max() > 1e-2  # the adapter does change the vectors
    manifest = json.loads((merged_dir / "kb-model.json").read_text(encoding="utf-8"))
    assert manifest["adapter_sha256"].startswith("sha256:") and "adaptador" in manifest["name"]


def tiny_adapter(folder: Path, seed: int) -> Path:
    """LoRA matrices on the tiny model's first query layer, as save_adapter writes them."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    save_file({"encoder.layer.0.attention.self.query.lora_A": rng.normal(size=(2, 32)).astype(np.float16),
               "encoder.layer.0.attention.self.query.lora_B": rng.normal(size=(32, 2)).astype(np.float16)},
              str(folder / "adapter.safetensors"))
    (folder / "manifest.json").write_text(json.dumps({"scale": 0.5}), encoding="utf-8")
    return folder


def test_verify_tells_a_model_merged_with_the_shipped_adapter_from_one_merged_with_another(tiny_packed,
                                                                                           tiny_model, tmp_path):
    from kb.model.convert import build_model_dir
    from kb.model.packed import read_packed
    from kb.model.verify import adapter_of, check_merge

    shipped, older = tiny_adapter(tmp_path / "shipped", 1), tiny_adapter(tmp_path / "older", 2)
    merged = build_model_dir(read_packed(tiny_packed), tmp_path / "merged", source="tiny", adapter_dir=shipped)
    assert adapter_of(tiny_model) is None and adapter_of(merged).startswith("sha256:")
    result = check_merge(merged, tiny_model, shipped)
    assert result.passed, result.summary
    assert "matrices adaptadas: 1;" in result.summary

    stale = check_merge(merged, tiny_model, older)
    assert not stale.passed and "otro adaptador" in stale.summary and str(merged) in stale.summary

    # Weights that are not base + adapter (a damaged or hand-edited model) fail too.
    from safetensors.numpy import load_file, save_file

    weights = load_file(str(merged / "model.safetensors"))
    weights["encoder.layer.1.attention.self.key.weight"] = weights["encoder.layer.1.attention.self.key.weight"] + 0.01
    save_file(weights, str(merged / "model.safetensors"))
    damaged = check_merge(merged, tiny_model, shipped)
    assert not damaged.passed and "diferencia máxima 1.0e-02" in damaged.summary


def test_the_merge_rounds_as_exact_arithmetic_does_so_every_cpu_builds_the_same_model():
    """A BLAS matmul rounds B @ A differently on AVX2 and AVX-512 machines, which changed
    the default model's fingerprint from one machine to another (and the bundled corpus's
    shipped vectors stopped matching). The merge must give the exactly rounded result."""
    from fractions import Fraction

    from kb.model.adapter import product

    rng = np.random.default_rng(7)
    # float16 values of magnitude 2^-8..2^4, as trained LoRA matrices hold: their products
    # and rank-16 sums are exact in float64, so exact arithmetic is the reference.
    def matrix(shape):
        values = rng.normal(size=shape)
        return np.where(np.abs(values) < 2 ** -8, 2 ** -8, values).astype(np.float16)

    b, a = matrix((5, 16)), matrix((16, 7))
    got = product(b, a)
    for i in range(5):
        for j in range(7):
            exact = sum(Fraction(float(b[i, k])) * Fraction(float(a[k, j])) for k in range(16))
            assert Fraction(float(got[i, j])) == exact
