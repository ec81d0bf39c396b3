"""Training questions: drafts written over numbered passages become rows of train/pairs.jsonl.

A draft (one JSON object per line) names its passage by the number that
`python -m train.passages` prints:

    {"doc": "es_fundar_que_es_el_desarrollo.pdf", "p": 12, "query": "...",
     "answer": "a verbatim quote of passage 12", "voice": "concepto",
     "style": "paraphrase", "lang": "es"}

    python -m train.pairs try DRAFTS.jsonl...   # checked only: what would be refused, and why
    python -m train.pairs add DRAFTS.jsonl...   # checked, appended to train/pairs.jsonl
    python -m train.pairs check                 # every row still resolves to its passage

A row keeps the document's sha256, the passage's span and the answer, not the
passage: the corpus is rebuilt from ../shared/train-corpus at training time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from kb.files import write_atomic
from train.corpus import Span, by_sha, documents, holds, passage_at, passages, squeeze

PAIRS = Path(__file__).resolve().parent / "pairs.jsonl"
VOICES = ("concepto", "comparación", "dato")
STYLES = ("shared-words", "paraphrase", "keyword", "misspelled")
LANGS = ("es", "en")
MAX_ANSWER = 400
# An answer copied with a slip (a dropped accent, a ligature) is replaced by the
# passage's own text when it aligns this closely; anything looser is refused.
REPAIR_SCORE = 96.0


@dataclass
class Rejected:
    draft: dict
    reason: str


def load(path: Path = PAIRS) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def row_id(sha256: str, query: str) -> str:
    return hashlib.sha1(f"{sha256}\n{squeeze(query).casefold()}".encode()).hexdigest()[:12]


def held_out(row: dict) -> bool:
    """A tenth of the passages (all questions on them) is kept for early stopping."""
    key = f"{row['sha256']}:{row['page_start']}:{row['start']}"
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10 == 0


def verbatim(passage: str, answer: str) -> str | None:
    """The answer as it stands in the passage, or None when it is not there."""
    if holds(passage, answer):
        return squeeze(answer)
    flat, wanted = squeeze(passage), squeeze(answer)
    found = fuzz.partial_ratio_alignment(wanted, flat, score_cutoff=REPAIR_SCORE)
    if found is None:
        return None
    quote = flat[found.dest_start:found.dest_end].strip()
    return quote if len(quote) >= 0.9 * len(wanted) else None


def from_draft(draft: dict, shas: dict[str, str]) -> dict | Rejected:
    filename = draft.get("doc", "")
    if filename not in shas:
        return Rejected(draft, "unknown document")
    for field, allowed in (("voice", VOICES), ("style", STYLES), ("lang", LANGS)):
        if draft.get(field) not in allowed:
            return Rejected(draft, f"{field} not in {allowed}")
    query = squeeze(str(draft.get("query", "")))
    if len(query) < 3:
        return Rejected(draft, "empty query")
    pieces = passages(filename)
    number = draft.get("p")
    if not isinstance(number, int) or not 0 <= number < len(pieces):
        return Rejected(draft, "no such passage")
    piece = pieces[number]
    answer = verbatim(piece.text, str(draft.get("answer", "")))
    if answer is None:
        return Rejected(draft, "answer not in passage")
    if not 8 <= len(answer) <= MAX_ANSWER:
        return Rejected(draft, "answer length")
    sha = shas[filename]
    return {"id": row_id(sha, query), "doc": filename, "sha256": sha, **Span.of(piece).as_row(),
            "query": query, "answer": answer, "voice": draft["voice"], "style": draft["style"],
            "lang": draft["lang"]}


def add(drafts: list[dict], path: Path = PAIRS, *, dry_run: bool = False) -> tuple[list[dict], list[Rejected]]:
    rows = load(path)
    seen = {r["id"] for r in rows}
    shas = {d.filename: d.sha256 for d in documents()}
    added: list[dict] = []
    rejected: list[Rejected] = []
    for draft in drafts:
        made = from_draft(draft, shas)
        if isinstance(made, Rejected):
            rejected.append(made)
        elif made["id"] in seen:
            rejected.append(Rejected(draft, "duplicate question"))
        else:
            seen.add(made["id"])
            added.append(made)
    if not dry_run:
        write(rows + added, path)
    return added, rejected


def write(rows: list[dict], path: Path = PAIRS) -> None:
    rows = sorted(rows, key=lambda r: (r["doc"], r["page_start"] or 0, r["start"], r["id"]))
    write_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8"))


def problems(rows: list[dict]) -> list[str]:
    """Rows whose document, passage or answer no longer resolves (empty when all do)."""
    known = by_sha()
    found = []
    for row in rows:
        document = known.get(row["sha256"])
        if document is None or not document.path.is_file():
            found.append(f"{row['id']}: document {row['doc']} missing")
            continue
        piece = passage_at(document.filename, Span.from_row(row))
        if piece is None:
            found.append(f"{row['id']}: no passage at {Span.from_row(row)} in {row['doc']}")
        elif not holds(piece.text, row["answer"]):
            found.append(f"{row['id']}: answer not in its passage")
        for negative in row.get("negatives", []):
            if passage_at(document.filename, Span.from_row(negative)) is None:
                found.append(f"{row['id']}: hard negative {negative} not found")
    return found


def summary(rows: list[dict]) -> str:
    lines = [f"{len(rows)} preguntas sobre {len({r['sha256'] for r in rows})} documentos"]
    for field in ("voice", "style", "lang"):
        counts = Counter(r[field] for r in rows)
        lines.append(f"  {field}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    lines.append(f"  con negativos difíciles: {sum(1 for r in rows if r.get('negatives'))}")
    lines.append(f"  reservadas para parada temprana: {sum(1 for r in rows if held_out(r))}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "try"):
        sub.add_parser(name).add_argument("drafts", nargs="+", type=Path)
    sub.add_parser("check")
    sub.add_parser("summary")
    args = parser.parse_args()
    if args.command in ("add", "try"):
        drafts = [json.loads(line) for path in args.drafts
                  for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        added, rejected = add(drafts, dry_run=args.command == "try")
        for item in rejected:
            print(f"rechazada ({item.reason}): {item.draft.get('doc')} [{item.draft.get('p')}] "
                  f"{item.draft.get('query')}", file=sys.stderr)
        print(f"{'aceptables' if args.command == 'try' else 'añadidas'} {len(added)}, rechazadas {len(rejected)}")
        if args.command == "try":
            return
    elif args.command == "check":
        found = problems(load())
        print("\n".join(found) or "todas las filas se resuelven")
        sys.exit(1 if found else 0)
    print(summary(load()))


if __name__ == "__main__":
    main()
