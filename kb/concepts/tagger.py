"""Tag passages with the taxonomy's concepts, with evidence for every tag.

Names are compared word by word with case, accents and plural endings
removed ("Clústeres" meets "clúster") and articles skipped ("cooperación entre
las empresas" meets "cooperación entre empresas"). Only plurals are removed, not
Snowball's derivational suffixes, which would make "cooperativas" meet
"cooperación" and "gobernanza" meet "gobernación". Two repairs
catch what PDF extraction and OCR do to words: pieces of a split word are
rejoined when together they form a concept's word ("me so espacio",
"clúste- res"), and a word that is in no dictionary is matched to a concept's
word it nearly spells ("Becatini"). Acronyms written in capitals match only in
capitals, and only with evidence of their meaning: the concept named in full,
or its context words, in the passage or else elsewhere in the document; one
shared by several concepts (IAP) goes to the one with the most evidence, and
without evidence to none: an untagged passage is better than a wrongly tagged one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Iterable, Mapping

from rapidfuzz.distance import Levenshtein

from kb.concepts.taxonomy import Taxonomy
from kb.text.fold import fold, fold_match
from kb.text.tokens import WORD

# Chosen on eval/concepts.jsonl (see eval/concepts.py): lower lets OCR damage
# through at the cost of false tags, higher misses "atrnósfera".
FUZZY_THRESHOLD = 0.75
FUZZY_MIN_LENGTH = 6
MAX_JOIN = 3  # pieces of one split word

_JOINABLE_GAP = re.compile(r"[ \t\r\n\-\u00ad]*")
_PHRASE_KINDS = ("context", "exclude")  # patterns that are evidence, not names
# Keys (after _stem) of the articles skipped when matching names.
_ARTICLES = frozenset({"el", "la", "lo", "un", "una", "uno", "the", "a", "an"})
_DOTTED = re.compile(r"(?<!\w)(?:[A-ZÁÉÍÓÚÑ]\.){2,}")


@dataclass(frozen=True)
class Tag:
    concept: str
    kind: str  # "exact" (the label), "alias", "author" or "fuzzy" (repaired OCR/extraction damage)
    start: int  # character offsets into the tagged text
    end: int
    matched: str


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    raw: str
    key: str  # stem of the folded word
    repaired: bool = False


@dataclass(frozen=True)
class _Pattern:
    keys: tuple[str, ...]
    concepts: tuple[str, ...]  # more than one: an ambiguous name
    kind: str


@dataclass(frozen=True)
class _Match:
    concepts: tuple[str, ...]
    kind: str
    start: int
    end: int
    acronym: bool = False  # needs evidence of its meaning to count


def _is_acronym(form: str) -> bool:
    return form.isupper() and " " not in form and len(form) <= 6


class Tagger:
    def __init__(self, taxonomy: Taxonomy, *, fuzzy_threshold: float = FUZZY_THRESHOLD) -> None:
        self.taxonomy = taxonomy
        self.fuzzy_threshold = fuzzy_threshold
        by_form: dict[tuple[tuple[str, ...], bool], dict[str, str]] = {}
        for concept in taxonomy:
            forms = [(concept.label, "exact")] + [(a, "alias") for a in concept.aliases]
            if concept.is_person:
                forms += [(a, "author") for a in concept.authors]
            for form, kind in forms:
                keys, acronym = self._form_keys(form)
                if keys:
                    by_form.setdefault((keys, acronym), {}).setdefault(concept.id, kind)
                if len(keys) > 1:  # the same words glued by extraction: "capitalsocial"
                    glued = (_stem(fold_match("".join(WORD.findall(form)))),)
                    by_form.setdefault((glued, False), {}).setdefault(concept.id, "fuzzy")
        self._patterns: dict[str, list[_Pattern]] = {}  # by first stem
        self._acronyms: dict[str, list[_Pattern]] = {}  # by the acronym as written
        for (keys, acronym), owners in by_form.items():
            kind = next(iter(owners.values())) if len(owners) == 1 else "alias"
            pattern = _Pattern(keys, tuple(owners), kind)
            (self._acronyms if acronym else self._patterns).setdefault(keys[0], []).append(pattern)
        self._words = {key for keys, acronym in by_form if not acronym for key in keys}
        # Context and exclusion phrases are found in the same pass as the names.
        for concept in taxonomy:
            for kind, forms in (("context", concept.context), ("exclude", concept.exclude)):
                for form in forms:
                    keys, acronym = self._form_keys(form)
                    if keys:
                        pattern = _Pattern(keys, (concept.id,), kind)
                        (self._acronyms if acronym else self._patterns).setdefault(keys[0], []).append(pattern)
        # Short words ("con", "de") may begin a split word: only longer ones are words on their own.
        self._content_words = {key for key in self._words if len(key) >= 4}
        # Unstemmed folded spellings of the concepts' words, for fuzzy matching.
        folded = {
            fold_match(w) for c in taxonomy for form in (c.label, *c.aliases, *(c.authors if c.is_person else ()))
            if not _is_acronym(form) for w in WORD.findall(form)
        }
        spellings = tuple(sorted(s for s in folded if len(s) >= FUZZY_MIN_LENGTH))
        # A cache of this tagger's own, over a function that does not hold the tagger:
        # a cache on the method would keep every Tagger ever built alive.
        self._nearest = lru_cache(maxsize=200_000)(partial(_nearest, spellings, fuzzy_threshold))

    # building blocks -----------------------------------------------------------

    def _form_keys(self, form: str) -> tuple[tuple[str, ...], bool]:
        if _is_acronym(form):
            return (form,), True
        keys = (_stem(fold_match(w)) for w in WORD.findall(form))
        return tuple(k for k in keys if k not in _ARTICLES), False

    def _tokens(self, text: str) -> list[_Token]:
        plain = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text)]
        plain = _dotted_acronyms(text, plain)
        tokens: list[_Token] = []
        i = 0
        while i < len(plain):
            joined = self._join(text, plain, i)
            if joined:
                tokens.append(joined[0])
                i += joined[1]
                continue
            start, end, raw = plain[i]
            key, repaired = self._key(fold_match(raw))
            tokens.append(_Token(start, end, raw, key, repaired))
            i += 1
        return tokens

    def _join(self, text: str, plain: list[tuple[int, int, str]], i: int) -> tuple[_Token, int] | None:
        """Pieces of a word split by extraction ("me so espacio") that together spell a concept's word."""
        for n in range(MAX_JOIN, 1, -1):
            pieces = plain[i:i + n]
            if len(pieces) < n:
                continue
            if any(not _JOINABLE_GAP.fullmatch(text[a[1]:b[0]]) for a, b in zip(pieces, pieces[1:])):
                continue
            folded = [fold_match(p[2]) for p in pieces]
            key = _stem("".join(folded))
            # A first piece that is itself a concept's word ("social es") is a whole word.
            if key in self._words and _stem(folded[0]) not in self._content_words:
                return _Token(pieces[0][0], pieces[-1][1], text[pieces[0][0]:pieces[-1][1]], key, True), n
        return None

    def _key(self, folded: str) -> tuple[str, bool]:
        key = _stem(folded)
        if key in self._words or len(folded) < FUZZY_MIN_LENGTH or folded.isdigit():
            return key, False
        # Both the word and its singular: "industria1es" is nearest "industrial" once singular.
        near = max((self._nearest(folded), self._nearest(key)), key=lambda found: found[1])[0]
        return (_stem(near), True) if near else (key, False)

    def _find(self, tokens: list[_Token]) -> list[_Match]:
        matches = []
        for token in tokens:
            for pattern in self._acronyms.get(token.raw, []):
                needs_evidence = pattern.kind not in _PHRASE_KINDS
                matches.append(_Match(pattern.concepts, pattern.kind, token.start, token.end, needs_evidence))
        tokens = [t for t in tokens if t.key not in _ARTICLES]
        for i, token in enumerate(tokens):
            for pattern in self._patterns.get(token.key, []):
                n = len(pattern.keys)
                span = tokens[i:i + n]
                if tuple(t.key for t in span) != pattern.keys:
                    continue
                repaired = any(t.repaired for t in span) and pattern.kind not in _PHRASE_KINDS
                matches.append(_Match(pattern.concepts, "fuzzy" if repaired else pattern.kind,
                                      span[0].start, span[-1].end))
        return sorted(matches, key=lambda m: (m.start, m.end))

    # public ------------------------------------------------------------------

    def _analyse(self, text: str) -> tuple[list[_Match], Counter]:
        """The names found in `text`, and the evidence it holds of what acronyms mean:
        context phrases and concepts named in full."""
        found = self._find(self._tokens(text))
        excluded = [m for m in found if m.kind == "exclude"]
        names = [m for m in found if m.kind not in _PHRASE_KINDS and not any(
            e.concepts[0] in m.concepts and e.start < m.end and m.start < e.end for e in excluded)]
        evidence = Counter(m.concepts[0] for m in found if m.kind == "context")
        evidence.update(m.concepts[0] for m in names if len(m.concepts) == 1 and not m.acronym)
        return names, evidence

    def _resolve(self, text: str, names: list[_Match], local: Counter, hint: Mapping[str, int] | None) -> list[Tag]:
        tags = []
        for match in names:
            concept = match.concepts[0] if not match.acronym else (
                _decide(match.concepts, local) or _decide(match.concepts, hint or {}))
            if concept:
                tags.append(Tag(concept, match.kind, match.start, match.end, text[match.start:match.end]))
        return _drop_nested(tags)

    def tag(self, text: str, hint: Mapping[str, int] | None = None) -> list[Tag]:
        """Concept tags of one passage; `hint` is evidence from the rest of its document."""
        return self._resolve(text, *self._analyse(text), hint)

    def document_hint(self, texts: Iterable[str]) -> Counter:
        """Evidence, across a whole document, of what its acronyms mean."""
        total: Counter = Counter()
        for text in texts:
            total += self._analyse(text)[1]
        return total

    def tag_document(self, texts: list[str]) -> list[list[Tag]]:
        analysed = [self._analyse(text) for text in texts]
        hint = sum((evidence for _, evidence in analysed), Counter())
        return [self._resolve(text, names, evidence, hint) for text, (names, evidence) in zip(texts, analysed)]


@lru_cache(maxsize=200_000)
def _stem(folded: str) -> str:
    """The singular, roughly: "industriales" -> "industrial", "distritos" -> "distrito",
    "clusteres" -> "cluster", "systems" -> "system"; applied alike to names and text."""
    if len(folded) > 4 and folded.endswith("es") and folded[-3] not in "aeiou":
        return folded[:-2]
    if len(folded) > 3 and folded.endswith("s") and not folded.endswith("ss"):
        return folded[:-1]
    return folded


def _nearest(spellings: tuple[str, ...], threshold: float, folded: str) -> tuple[str | None, float]:
    """The concept word this non-word nearly spells ("becatini" -> "becattini"), and how nearly."""
    # The word lists load in ~1 s: only when a word is not a concept's word.
    from kb.text.words import known_words

    if fold(folded) in known_words():
        return None, 0.0
    best, best_score = None, threshold
    for spelling in spellings:
        if spelling[0] != folded[0] or abs(len(spelling) - len(folded)) > 2:
            continue
        score = Levenshtein.normalized_similarity(folded, spelling)
        if score >= best_score:
            best, best_score = spelling, score
    return best, (best_score if best else 0.0)


def _dotted_acronyms(text: str, plain: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """"I.A.P." becomes one token "IAP", as the acronym is usually written."""
    spans = [(m.start(), m.end()) for m in _DOTTED.finditer(text)]
    if not spans:
        return plain
    out: list[tuple[int, int, str]] = []
    for start, end, raw in plain:
        span = next(((a, b) for a, b in spans if a <= start < b), None)
        if span is None:
            out.append((start, end, raw))
        elif out and out[-1][0] == span[0]:
            out[-1] = (span[0], end, out[-1][2] + raw)
        else:
            out.append((span[0], end, raw))
    return out


def _decide(candidates: tuple[str, ...], evidence: Mapping[str, int]) -> str | None:
    """The candidate with the most evidence, if it has some and no other has as much."""
    scores = sorted(((evidence.get(c, 0), c) for c in candidates), reverse=True) + [(0, "")]
    best, runner_up = scores[0], scores[1]
    return best[1] if best[0] > 0 and best[0] > runner_up[0] else None


def _drop_nested(tags: list[Tag]) -> list[Tag]:
    """One piece of evidence per mention: "distrito industrial" and its "distrito" inside count once."""
    kept: list[Tag] = []
    for tag in sorted(tags, key=lambda t: (t.start, -(t.end - t.start))):
        if any(k.concept == tag.concept and k.start <= tag.start and tag.end <= k.end for k in kept):
            continue
        kept.append(tag)
    return kept
