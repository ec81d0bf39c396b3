"""The model on ONNX Runtime gives torch's vectors and rankings, and kb picks its runtime as documented."""

import json
import shutil

import numpy as np
import pytest

from kb.errors import ModelError
from kb.model import verify
from kb.model.embedder import Embedder, LazyEmbedder, resolve_runtime
from kb.model.onnx_export import MANIFEST, ensure_onnx, onnx_dir, unsupported_reason
from kb.model.resolve import describe_model
from kb.model.runtime import OnnxEmbedder

MIXED = ["distrito industrial", "la confianza y la cooperación en el año", "el clúster",
         "«coop» ñ, el distrito " * 40]  # the last one is cut at the model's 64 tokens


@pytest.fixture(scope="module")
def tiny(tiny_model, tmp_path_factory):
    """The tiny model and its ONNX copy, exported once for the module."""
    info = describe_model(tiny_model)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return info, OnnxEmbedder(info, ensure_onnx(info))


def test_onnx_gives_torch_vectors_for_queries_and_passages_of_any_length(tiny):
    info, onnx = tiny
    torch = Embedder(info, precision="fp32")
    for encode in ("encode_queries", "encode_passages"):
        a, b = getattr(onnx, encode)(MIXED), getattr(torch, encode)(MIXED)
        assert a.dtype == np.float32 and a.shape == (len(MIXED), info.dimension)
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        assert np.sum(a * b, axis=1).min() >= 0.9999
    # Batched with longer texts (padding) or alone, a text gets the same vector.
    alone = onnx.encode_passages(MIXED[:1])
    assert np.allclose(alone[0], onnx.encode_passages(MIXED)[0], atol=1e-5)
    assert onnx.encode_queries([]).shape == (0, info.dimension)


def test_a_text_longer_than_the_model_reads_is_cut_as_sentence_transformers_cuts_it(tiny):
    info, onnx = tiny
    torch = Embedder(info, precision="fp32")
    for text in MIXED:
        ids = torch.token_ids("passage: " + text)
        if len(ids) > 64:  # the tiny model reads 64 tokens: the end is cut, </s> kept
            ids = ids[:63] + [2]
        assert onnx.token_ids("passage: " + text) == ids


def test_the_copy_is_built_once_and_a_half_built_one_is_ignored(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path))
    info = describe_model(tiny_model)
    target = onnx_dir(info)
    target.parent.mkdir(parents=True)
    (target.parent / f".{target.name}.tmp-x").mkdir()  # a build killed midway
    target.mkdir()  # a directory without the manifest: not a copy to trust
    built = ensure_onnx(info)
    assert built == target and (built / MANIFEST).is_file()
    manifest = json.loads((built / MANIFEST).read_text())
    assert manifest["model_fingerprint"] == info.fingerprint and manifest["fused"]
    stamp = (built / MANIFEST).stat().st_mtime_ns
    assert ensure_onnx(info) == built and (built / MANIFEST).stat().st_mtime_ns == stamp


def test_runtime_setting(tiny_model, monkeypatch):
    info = describe_model(tiny_model)
    assert resolve_runtime(info, "query") == "onnx"
    monkeypatch.setenv("KB_RUNTIME", "Torch")
    assert resolve_runtime(info, "query") == "torch"
    assert resolve_runtime(info, "query", "onnx") == "onnx"
    monkeypatch.setenv("KB_RUNTIME", "tensorflow")
    with pytest.raises(ModelError, match="Motor desconocido 'tensorflow'"):
        resolve_runtime(info, "query")


def test_bulk_passages_go_to_torch_where_bfloat16_is_native(tiny_model, monkeypatch):
    import kb.model.embedder as embedder_module

    info = describe_model(tiny_model)
    monkeypatch.setattr(embedder_module, "bf16_supported", lambda: True)
    assert (resolve_runtime(info, "query"), resolve_runtime(info, "passage")) == ("onnx", "torch")
    monkeypatch.setenv("KB_PRECISION", "fp32")  # without bfloat16, ONNX Runtime is the faster
    assert resolve_runtime(info, "passage") == "onnx"


def test_a_model_the_export_cannot_reproduce_runs_on_torch(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    custom = shutil.copytree(tiny_model, tmp_path / "con-dense")
    modules = json.loads((custom / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (custom / "modules.json").write_text(json.dumps(modules))
    info = describe_model(custom)
    assert "Dense" in unsupported_reason(info)
    assert resolve_runtime(info, "query") == "torch"
    with pytest.raises(ModelError, match="no se puede ejecutar con ONNX Runtime: el modelo tiene módulos"):
        LazyEmbedder(info, runtime="onnx").encode_queries(["distrito"])


def test_lazy_embedder_says_when_it_exports_and_shares_one_engine(tiny, monkeypatch, tmp_path):
    from kb.model.embedder import EXPORTING

    info, _ = tiny
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path))
    said = []
    embedder = LazyEmbedder(info, runtime="onnx", notify=said.append)
    assert said == []  # nothing is loaded before the first encoding
    embedder.encode_queries(["distrito"])
    assert said == [EXPORTING]
    assert embedder.engine("passage") is embedder.engine("query")
    LazyEmbedder(info, runtime="onnx", notify=said.append).encode_queries(["distrito"])
    assert said == [EXPORTING]  # exported once


@pytest.fixture(scope="module")
def real_onnx(real_model, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_CACHE_DIR", str(real_model.path.parent.parent))
        return OnnxEmbedder(real_model, ensure_onnx(real_model))


def test_the_real_model_on_onnx_keeps_tokens_vectors_and_rankings(real_model, real_embedder, real_onnx):
    from kb.model.embedder import model_input

    for text in verify.TOKENIZER_EDGE_CASES + verify.sample_lines(verify.bundled_texts())[:20]:
        prefixed = model_input(real_model.passage_prefix, text)
        assert real_onnx.token_ids(prefixed) == real_embedder.token_ids(prefixed)
    passages = verify.sample_passages(verify.bundled_texts(), words=150, stride=400)
    queries = verify.QUERIES
    onnx_p, torch_p = real_onnx.encode_passages(passages), real_embedder.encode_passages(passages)
    assert np.sum(onnx_p * torch_p, axis=1).min() >= 0.999
    onnx_q, torch_q = real_onnx.encode_queries(queries), real_embedder.encode_queries(queries)
    assert np.sum(onnx_q * torch_q, axis=1).min() >= 0.999
    # Queries on ONNX against passages torch embedded (an index made before): the same top 5.
    assert verify.top_k(onnx_q, torch_p) == verify.top_k(torch_q, torch_p)
