"""Print a training document's passages, numbered, for whoever writes its questions.

    python -m train.passages es_fundar_que_es_el_desarrollo.pdf [--out FILE]

Each passage is printed as `[n] p. P` and its text; a question's draft names its
passage by that n (train/pairs.py turns it into the passage's span).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.corpus import passages


def render(filename: str) -> str:
    blocks = []
    for n, piece in enumerate(passages(filename)):
        pages = (f"p. {piece.page_start}" if piece.page_start == piece.page_end
                 else f"pp. {piece.page_start}-{piece.page_end}")
        blocks.append(f"[{n}] {pages}\n{piece.text}\n")
    return "\n".join(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filenames", nargs="+")
    parser.add_argument("--out", type=Path, default=None, help="a folder: one <name>.txt per document")
    args = parser.parse_args()
    for filename in args.filenames:
        text = render(filename)
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / (Path(filename).stem + ".txt")).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
