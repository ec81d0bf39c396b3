"""The concept taxonomy: a TOML file shipped in corpus/, extended by the user's own.

A user file (`concepts.toml` in the index directory, or the path in
`KB_CONCEPTS`) adds concepts or changes bundled ones: the fields it gives
replace the bundled values, except the lists of names (aliases, authors,
context, exclude), which it extends, so a new spelling variant is one line.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.config import bundled_corpus_dir, concepts_setting
from kb.errors import KBError

FRAMEWORKS = (
    "clúster",
    "distrito industrial",
    "desarrollo territorial",
    "economía social y solidaria",
    "política de desarrollo productivo",
    "método",
)
TAXONOMY_FILE = "concepts.toml"
_LIST_FIELDS = ("aliases", "authors", "documents", "related", "not_confused_with", "context", "exclude")
_EXTENDED_FIELDS = ("aliases", "authors", "context", "exclude")


class TaxonomyError(KBError):
    """A taxonomy file that cannot be used; the message names the file and the reason."""


class UnknownConcept(KBError):
    """A concept id that the taxonomy does not hold."""


@dataclass(frozen=True)
class Concept:
    id: str
    label: str
    framework: str
    definition: str = ""
    aliases: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    not_confused_with: tuple[str, ...] = ()
    context: tuple[str, ...] = ()  # words near an ambiguous acronym that point to this concept
    exclude: tuple[str, ...] = ()  # phrases in which a name does not mean this concept ("Plan Marshall")

    @property
    def is_person(self) -> bool:
        """A concept that is an author ("Porter"): its label names one of its authors."""
        label = self.label.lower()
        return any(author.lower().split()[-1] in label for author in self.authors if author.strip())


@dataclass(frozen=True)
class Taxonomy:
    concepts: dict[str, Concept] = field(default_factory=dict)
    sources: tuple[Path, ...] = ()

    def __contains__(self, concept_id: str) -> bool:
        return concept_id in self.concepts

    def __getitem__(self, concept_id: str) -> Concept:
        return self.concepts[concept_id]

    def require(self, concept_id: str) -> Concept:
        """The concept a user names by id, label, alias or acronym («IAP», «distrito
        industrial», «Politica de desarrollo productivo»), whatever the case and accents;
        or a Spanish error that suggests the nearest id or label, or lists the concepts
        an ambiguous alias names."""
        if concept_id in self.concepts:
            return self.concepts[concept_id]
        from kb.text.fold import fold_key

        wanted = fold_key(concept_id)
        for names in (lambda c: (c.id, c.label), lambda c: c.aliases):
            found = [c for c in self if any(fold_key(name) == wanted for name in names(c))]
            if len(found) == 1:
                return found[0]
            if found:
                listed = ", ".join(f"{c.id} ({c.label})" for c in found)
                raise UnknownConcept(f"Concepto ambiguo: {concept_id!r} nombra a {listed}; use su identificador.")
        from rapidfuzz import process

        choices = {c.id: c.id for c in self} | {c.label: c.id for c in self}
        best = process.extractOne(concept_id, list(choices), score_cutoff=70)
        hint = f" ¿Quiso decir {choices[best[0]]!r}?" if best else ""
        raise UnknownConcept(f"Concepto desconocido: {concept_id!r}.{hint} Vea la lista con `kb concepts`.")

    def __iter__(self):
        return iter(self.concepts.values())

    def __len__(self) -> int:
        return len(self.concepts)

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything that tagging depends on changes."""
        payload = json.dumps([asdict(c) for c in self.concepts.values()], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def bundled_taxonomy_path() -> Path:
    return bundled_corpus_dir() / TAXONOMY_FILE


def user_taxonomy_paths(index_directory: Path | None) -> list[Path]:
    """The user's files that exist: the index directory's, then `KB_CONCEPTS`."""
    paths = []
    if index_directory is not None and (Path(index_directory) / TAXONOMY_FILE).is_file():
        paths.append(Path(index_directory) / TAXONOMY_FILE)
    path = concepts_setting()
    if path is not None:
        if not path.is_file():
            raise TaxonomyError(f"{path}: no existe el archivo de conceptos indicado en KB_CONCEPTS")
        paths.append(path)
    return paths


def load_taxonomy(index_directory: Path | None = None, extra: list[Path] | None = None) -> Taxonomy:
    """The bundled taxonomy, extended by the user's files (later files win)."""
    return read_taxonomy([bundled_taxonomy_path(), *user_taxonomy_paths(index_directory), *(extra or [])])


def read_taxonomy(paths: list[Path]) -> Taxonomy:
    """The concepts of these files, merged in order."""
    merged: dict[str, dict] = {}
    for path in paths:
        for entry in _read(path):
            current = merged.get(entry["id"])
            merged[entry["id"]] = entry if current is None else _merge(current, entry)
    concepts = {cid: _concept(entry) for cid, entry in merged.items()}
    for cid, entry in merged.items():
        for name in ("related", "not_confused_with"):
            unknown = [other for other in getattr(concepts[cid], name) if other not in concepts]
            if unknown:
                raise TaxonomyError(f"{entry['_source']}: el concepto {cid!r} remite en '{name}' a conceptos "
                                    f"inexistentes: {', '.join(unknown)}")
    return Taxonomy(concepts, tuple(paths))


def _read(path: Path) -> list[dict]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TaxonomyError(f"{path}: no se puede leer el archivo de conceptos ({error})") from error
    entries = data.get("concept", [])
    if not isinstance(entries, list):
        raise TaxonomyError(f"{path}: los conceptos van en tablas [[concept]]")
    out = []
    for number, entry in enumerate(entries, 1):
        cid = entry.get("id")
        if not isinstance(cid, str) or not cid.strip():
            raise TaxonomyError(f"{path}: el concepto n.º {number} no tiene 'id'")
        for name in _LIST_FIELDS:
            value = entry.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TaxonomyError(f"{path}: en el concepto {cid!r}, '{name}' debe ser una lista de textos")
        framework = entry.get("framework")
        if framework is not None and framework not in FRAMEWORKS:
            raise TaxonomyError(f"{path}: el concepto {cid!r} tiene un marco desconocido {framework!r} "
                                f"(use uno de: {', '.join(FRAMEWORKS)})")
        out.append({"_source": path, **entry})
    return out


def _merge(current: dict, update: dict) -> dict:
    merged = {**current, **{k: v for k, v in update.items() if k not in _EXTENDED_FIELDS}}
    for name in _EXTENDED_FIELDS:
        merged[name] = list(dict.fromkeys([*current.get(name, []), *update.get(name, [])]))
    return merged


def _concept(entry: dict) -> Concept:
    for name in ("label", "framework"):
        if not entry.get(name):
            raise TaxonomyError(f"{entry['_source']}: el concepto {entry['id']!r} no tiene '{name}'")
    return Concept(
        id=entry["id"],
        label=entry["label"],
        framework=entry["framework"],
        definition=entry.get("definition", ""),
        **{name: tuple(entry.get(name, [])) for name in _LIST_FIELDS},
    )
