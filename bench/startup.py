"""Cold-start times: each command as a new process, and the app from launch to its first answer.

Commands run on an index of the bundled corpus with the real PDFs of
../shared/real-pdfs (built in --workdir on the first run, or --index DIR), with
the disk cache warm (one untimed run first). Each checkout gets an index built by
its own code: a checkout with another model would otherwise re-embed a shared
index on every run. The app is started with
`streamlit run app.py` on empty data and cache directories, as on a new
machine: it converts and exports the model, indexes the bundled corpus, and
the time stops when Chromium shows the first cited passage of a search.

With --against DIR (a checkout of another commit, e.g. a `git worktree` of the
previous one) every measurement alternates between the two, and the JSON gets
medians for both and their ratio.

    python bench/startup.py [--runs 5] [--index DIR] [--against DIR] [--no-app]

Writes bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRACTORS = ROOT.parent / "shared" / "real-pdfs"
QUERY = "¿Qué es el mesoespacio institucional?"
COMMANDS = {
    "search (híbrido)": ["search", QUERY, "--k", "5"],
    "search --mode lexical": ["search", "--mode", "lexical", "mesoespacio", "--k", "5"],
    "docs": ["docs"],
    "show": ["show", "saravi-1998-distritos-mexico"],
    "concepts": ["concepts"],
    "concept": ["concept", "mesoespacio"],
    "doctor": ["doctor"],
    "compare": ["compare", "--preset", "distrito-vs-cluster"],
}
RUN_KB = "import sys; sys.argv[0] = 'kb'; from kb.cli import main; main()"


def code_env(code: Path, **extra: str) -> dict[str, str]:
    """The environment that runs kb from the checkout `code` (ahead of the installed one),
    with bytecode cached as on a user's machine (the warm-up run writes it)."""
    env = dict(os.environ, PYTHONPATH=str(code), **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def commit(code: Path) -> str:
    done = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(code), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + ("+cambios" if dirty else "")


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # doctor exits 1 when a check fails; still a whole run
        raise SystemExit(f"{' '.join(command)} falló ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return seconds


def build_index_with(code: Path, directory: Path) -> None:
    """The index built by the checkout `code`, with its model."""
    script = "import sys; sys.path.insert(0, 'bench'); from pathlib import Path; import startup; " \
             "startup.build_index(Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", script, str(directory)], env=code_env(code), cwd=code, check=True)


def build_index(directory: Path) -> None:
    from ingest.pipeline import ingest
    from kb.config import bundled_corpus_dir
    from kb.index import KnowledgeBase
    from kb.model.embedder import load_embedder

    embedder = load_embedder()
    kb = KnowledgeBase(directory, embedder.info)
    try:
        ingest(kb, embedder, [bundled_corpus_dir()] + ([DISTRACTORS] if DISTRACTORS.is_dir() else []))
    finally:
        kb.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_first_answer(code: Path, timeout_s: float) -> float:
    """Seconds from `streamlit run` on empty data and cache directories to the first cited passage."""
    from playwright.sync_api import expect, sync_playwright

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("hace falta chromium (apt-get install chromium) para medir la aplicación")
    fresh = Path(tempfile.mkdtemp(prefix="kb-startup-app-"))
    port = free_port()
    env = code_env(code, KB_HOME=str(fresh / "datos"), KB_CACHE_DIR=str(fresh / "cache"))
    for name in ("KB_MODEL", "KB_PRECISION", "KB_RUNTIME"):
        env.pop(name, None)
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=binary, headless=True,
                                        args=["--no-sandbox", "--disable-dev-shm-usage"])
            page = browser.new_page()
            deadline = time.monotonic() + 60
            while True:  # the server takes a moment to listen
                try:
                    page.goto(f"http://127.0.0.1:{port}/?q={QUERY}", wait_until="domcontentloaded")
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            expect(page.get_by_text("Saraví (1998)").first).to_be_visible(timeout=timeout_s * 1000)
            seconds = time.perf_counter() - start
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(fresh, ignore_errors=True)
    return seconds


def summary(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
            "max_s": round(max(values), 3), "runs": [round(v, 3) for v in values]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--index", type=Path, default=None, help="an index to reuse (else built in --workdir)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "kb-startup")
    parser.add_argument("--against", type=Path, default=None, help="another checkout to measure alternately")
    parser.add_argument("--no-app", action="store_true")
    parser.add_argument("--app-runs", type=int, default=1)
    parser.add_argument("--app-timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "startup.json")
    args = parser.parse_args()

    codes = {"actual": ROOT} | ({"comparado": args.against.resolve()} if args.against else {})
    indexes = {name: args.workdir / f"index-{commit(code)}" for name, code in codes.items()}
    if args.index is not None:
        indexes["actual"] = args.index
    for name, index in indexes.items():
        if not (index / "kb.sqlite").is_file():
            print(f"Indexando el corpus incluido y los PDF reales en {index} (una vez)…", flush=True)
            build_index_with(codes[name], index)
    results: dict[str, dict] = {name: {"commit": commit(code), "commands": {}} for name, code in codes.items()}
    for label, arguments in COMMANDS.items():
        times: dict[str, list[float]] = {name: [] for name in codes}
        for run in range(args.runs + 1):
            for name, code in codes.items():  # alternating, so both see the same machine
                seconds = timed([sys.executable, "-c", RUN_KB, *arguments], code_env(code, KB_HOME=str(indexes[name])), code)
                if run:  # the first run only warms the disk cache
                    times[name].append(seconds)
        line = f"{label:<24}"
        for name in codes:
            results[name]["commands"][label] = summary(times[name])
            line += f"  {name} {results[name]['commands'][label]['median_s']:6.2f} s"
        print(line, flush=True)
    if not args.no_app:
        times = {name: [] for name in codes}
        for _ in range(args.app_runs):
            for name, code in codes.items():
                times[name].append(app_first_answer(code, args.app_timeout))
        for name in codes:
            results[name]["app_first_answer"] = summary(times[name])
        print(f"{'aplicación, 1.ª respuesta':<24}"
              + "".join(f"  {name} {results[name]['app_first_answer']['median_s']:6.1f} s" for name in codes))
    report = {
        "benchmark": "startup",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "indexes": {name: str(index) for name, index in indexes.items()},
        "runs": args.runs,
        "results": results,
    }
    if args.against:
        report["ratio_actual_vs_comparado"] = {
            label: round(results["actual"]["commands"][label]["median_s"]
                         / results["comparado"]["commands"][label]["median_s"], 3) for label in COMMANDS}
    from kb.evaluation import write_report

    print(f"Resultados en {write_report(args.out, report)}")


if __name__ == "__main__":
    main()
