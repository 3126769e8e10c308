"""How long the notebook suite takes under nbval, against the same number of trivial notebooks.

    python benchmarks/notebooks.py            # notebooks/*.ipynb, median of 3 runs each; exit 0
    python benchmarks/notebooks.py --check    # exit 1 when the target is missed
    python benchmarks/notebooks.py --runs 5 notebooks/01-*.ipynb

Both suites run exactly as ``make nbval`` runs them (``pytest --nbval --nbval-current-env``, the
project's pytest configuration and sanitize file), alternately, in fresh pytest processes. A trivial
notebook is one code cell, ``1 + 1``, with its stored output ``2``: it costs what nbval costs anyway
(collection, a kernel start and shutdown), so the ratio shows what the workshop's own cells add.
Target (DESIGN.md): at most 2x, taken on pytest's own session time ("N passed in X s"); the wall time
of the whole command, which adds the same interpreter and plugin start-up to both, is shown beside it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "notebooks" / "sanitize.cfg"
RATIO_GOAL = 2.0


def trivial_notebook() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def nbval(paths: list[Path]) -> tuple[float, float, int, str]:
    """One nbval run over ``paths``: wall seconds, pytest's session seconds, exit code, summary line."""
    command = [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
               "--nbval", "--nbval-current-env"]
    if SANITIZE.exists():
        command += ["--nbval-sanitize-with", str(SANITIZE)]
    start = time.perf_counter()
    run = subprocess.run([*command, *map(str, paths)], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    lines = run.stdout.strip().splitlines()
    summary = lines[-1] if lines else run.stderr.strip()[-200:]
    session = re.search(r" in ([0-9.]+)s", summary)
    return elapsed, float(session.group(1)) if session else elapsed, run.returncode, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--runs", type=int, default=3, help="runs of each suite (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    paths = sorted(args.notebooks) or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        print("No notebooks in notebooks/ yet: nothing to measure.")
        return 0

    with tempfile.TemporaryDirectory(prefix="trivial-notebooks-") as folder:
        trivial = [Path(folder) / f"trivial_{i:02}.ipynb" for i in range(len(paths))]
        for path in trivial:
            nbformat.write(trivial_notebook(), path)
        suites = {"workshop notebooks": paths, "trivial notebooks": trivial}
        wall: dict[str, list[float]] = {name: [] for name in suites}
        session: dict[str, list[float]] = {name: [] for name in suites}
        outcomes: dict[str, tuple[int, str]] = {}
        for _ in range(args.runs):
            for name, suite in suites.items():
                wall_seconds, session_seconds, code, summary = nbval(suite)
                wall[name].append(wall_seconds)
                session[name].append(session_seconds)
                outcomes[name] = (code, summary)

    walls = {name: statistics.median(values) for name, values in wall.items()}
    sessions = {name: statistics.median(values) for name, values in session.items()}
    print(f"nbval over {len(paths)} notebooks (median of {args.runs} runs, fresh pytest each)")
    print(f"  {'':<20} {'session':>9} {'wall':>9}")
    for name in suites:
        code, summary = outcomes[name]
        note = "" if code == 0 else f"   pytest exit {code}: not all cells pass"
        print(f"  {name:<20} {sessions[name]:7.2f} s {walls[name]:7.2f} s   [{summary}]{note}")
    ratio = sessions["workshop notebooks"] / sessions["trivial notebooks"]
    wall_ratio = walls["workshop notebooks"] / walls["trivial notebooks"]
    passed = ratio <= RATIO_GOAL
    print(f"  ratio {ratio:7.2f}x {wall_ratio:7.2f}x   <= {RATIO_GOAL:g}x (session) {'PASS' if passed else 'FAIL'}")
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
