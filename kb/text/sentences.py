"""Sentence boundaries in Spanish prose: where one sentence ends and the next begins.

The chunker groups whole sentences and the quoting rules quote single ones; both
split with this one function, so a quote always matches a chunk's sentence.
"""

from __future__ import annotations

import re

# Abbreviations after which a period does not end a sentence.
ABBREVIATIONS = {
    "sr", "sra", "srta", "dr", "dra", "lic", "ing", "prof", "etc", "ej", "p", "pp", "pág", "págs",
    "núm", "nº", "no", "vol", "vols", "ed", "eds", "cap", "caps", "art", "arts", "fig", "figs",
    "cf", "vs", "aprox", "et al", "al", "ee", "uu", "ss", "op", "cit", "ibid", "inc", "cía", "s.a",
    "mr", "mrs", "ms", "st", "e.g", "i.e",
}
# A sentence ends at . ! ? … (plus closing quotes/brackets) before a space and
# something that can start a sentence.
_SENTENCE_END = re.compile(r"[.!?…][»”\"')\]]*\s+(?=[¿¡«“\"'(\[]?[A-ZÁÉÍÓÚÑÜ0-9•\-–])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, never cutting inside one."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start() + 1]
        last_word = before.split()[-1].rstrip(".").lower() if before.split() else ""
        if last_word in ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue  # "p. 12", "Saraví, G. A." are not sentence ends
        end = match.start() + len(match.group(0).rstrip())
        spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]
