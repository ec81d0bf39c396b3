import os

import numpy as np
import pytest

from kb.errors import ModelError
from kb.model.embedder import Embedder, bf16_supported, resolve_precision
from kb.model.resolve import describe_model


def test_precision_setting(monkeypatch):
    monkeypatch.setenv("KB_PRECISION", "FP32")
    assert resolve_precision() == "fp32"
    assert resolve_precision("bf16") == "bf16"
    monkeypatch.setenv("KB_PRECISION", "auto")
    assert resolve_precision() == ("bf16" if bf16_supported() else "fp32")
    monkeypatch.setenv("KB_PRECISION", "fp16")
    with pytest.raises(ModelError, match="Precisión desconocida 'fp16'"):
        resolve_precision()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_query_and_passage_prefixes_give_different_unit_vectors(tiny_model, precision):
    embedder = Embedder(describe_model(tiny_model), precision=precision)
    q = embedder.encode_queries(["distrito industrial"])
    p = embedder.encode_passages(["distrito industrial", "  distrito industrial \n"])
    assert q.dtype == p.dtype == np.float32
    assert np.allclose(np.linalg.norm(np.vstack([q, p]), axis=1), 1.0, atol=1e-5)
    assert not np.allclose(q[0], p[0], atol=1e-4)
    assert np.allclose(p[0], p[1], atol=1e-6)  # edge whitespace is not part of the text


def test_loading_a_model_changes_nothing_process_wide(tiny_model):
    # Importing torch and sentence-transformers sets variables of their own
    # (KMP_*, TORCHINDUCTOR_CACHE_DIR); kb's part starts after the imports.
    import huggingface_hub.constants as hub_constants
    import sentence_transformers  # noqa: F401
    import torch
    from transformers.utils import logging as transformers_logging

    threads = torch.get_num_threads()
    torch.set_num_threads(1 if threads > 1 else 2)  # a count kb would not choose, so a change shows
    try:
        before = (dict(os.environ), torch.get_num_threads(), transformers_logging.is_progress_bar_enabled(),
                  hub_constants.HF_HUB_OFFLINE)
        Embedder(describe_model(tiny_model), precision="fp32").encode_queries(["distrito industrial"])
        after = (dict(os.environ), torch.get_num_threads(), transformers_logging.is_progress_bar_enabled(),
                 hub_constants.HF_HUB_OFFLINE)
    finally:
        torch.set_num_threads(threads)
    assert after == before


def test_loading_draws_no_progress_bar(tiny_model, capfd):
    Embedder(describe_model(tiny_model), precision="fp32")
    assert capfd.readouterr().err == ""
