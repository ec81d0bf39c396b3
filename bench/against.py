"""Warm query latency and ingest speed of this checkout against another, alternating.

Runs bench/search.py and bench/ingestion.py --ingest-only in this checkout and in
--against DIR (e.g. a `git worktree` of the previous commit) in turns, each on an
index built by its own code (a checkout with another model would re-embed a shared
one), so both see the same machine; prints and writes the medians and their ratio.
Cold starts: bench/startup.py --against DIR.

    python bench/against.py --against DIR [--runs 3] [--workdir DIR]

Writes bench/results/against.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from startup import code_env, commit  # bench/ is the script's own folder

ROOT = Path(__file__).resolve().parent.parent
SEARCH_KEYS = ("hybrid_p50_ms", "hybrid_p95_ms", "dense_p50_ms", "dense_p95_ms", "lexical_p50_ms", "lexical_p95_ms")


def run(code: Path, script: str, *arguments: str) -> None:
    subprocess.run([sys.executable, script, *arguments], cwd=code, env=code_env(code), check=True,
                   stdout=subprocess.DEVNULL)


def search_once(code: Path, index: Path) -> dict:
    """bench/search.py writes into its checkout's bench/results: read it, then put back what was there."""
    result = code / "bench" / "results" / "search.json"
    kept = result.read_bytes() if result.is_file() else None
    try:
        run(code, "bench/search.py", "--index", str(index), "--rounds", "2")
        return json.loads(result.read_text(encoding="utf-8"))
    finally:
        if kept is not None:
            result.write_bytes(kept)


def ingest_once(code: Path, out: Path) -> dict:
    run(code, "bench/ingestion.py", "--ingest-only", "--out", str(out))
    report = json.loads(out.read_text(encoding="utf-8"))
    return {f"{key}_chunks_per_s": report[key]["chunks_per_s"]
            for key in ("ingest_bundled_corpus", "ingest_real_pdfs") if key in report}


def medians(runs: list[dict]) -> dict:
    return {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "kb-against")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "against.json")
    args = parser.parse_args()

    codes = {"actual": ROOT, "comparado": args.against.resolve()}
    runs: dict[str, dict[str, list[dict]]] = {name: {"search": [], "ingest": []} for name in codes}
    for k in range(args.runs):
        for name, code in codes.items():
            index = args.workdir / f"index-{commit(code)}"  # built on the first run, by the checkout itself
            search = search_once(code, index)
            runs[name]["search"].append({key: search[key] for key in SEARCH_KEYS})
            runs[name]["ingest"].append(ingest_once(code, args.workdir / f"ingest-{name}-{k}.json"))
            print(f"{name} {k + 1}/{args.runs}: {runs[name]['search'][-1]} {runs[name]['ingest'][-1]}", flush=True)
    results = {name: {"commit": commit(codes[name]),
                      **{part: {"runs": values, "median": medians(values)} for part, values in parts.items()}}
               for name, parts in runs.items()}
    ratio = {part: {key: round(results["actual"][part]["median"][key] / results["comparado"][part]["median"][key], 3)
                    for key in results["actual"][part]["median"]} for part in ("search", "ingest")}
    for part in ("search", "ingest"):
        for key, value in ratio[part].items():
            print(f"{key:<40} actual {results['actual'][part]['median'][key]:8.2f}  "
                  f"comparado {results['comparado'][part]['median'][key]:8.2f}  razón {value:.3f}")
    report = {"benchmark": "against", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cores": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
              "runs": args.runs, "results": results, "ratio_actual_vs_comparado": ratio}
    from kb.evaluation import write_report

    print(f"Resultados en {write_report(args.out, report)}")


if __name__ == "__main__":
    main()
