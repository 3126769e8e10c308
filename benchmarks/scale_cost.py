"""The cost of many open WebSocket sessions, counted instead of timed: 10,000 against 1,000.

    python benchmarks/scale_cost.py            # needs valgrind; about four minutes on two cores
    python benchmarks/scale_cost.py --check    # exit 1 when the target is missed
    python benchmarks/scale_cost.py --ll 2     # simulate a last-level cache of 2 MiB instead of 8

The target (DESIGN.md, "Targets"): counted under cachegrind, 10,000 sessions execute at most 10.5x the
instructions of 1,000 (linear, with a little room for the garbage collector's full collections).
The cycle estimates below are reported beside it, not checked: they depend on a guess of what a miss
costs. ``benchmarks/scale.py`` checks the timed side.

Why count: on this project's 2-core machines the same run of ``benchmarks/scale.py`` takes from 1.9 s
to 3.0 s minutes apart, and its 1,000-session run from 0.16 s to 0.27 s, so a ratio of the two
ranges from about 8x to 16x for the same code. Run under valgrind's cachegrind instead, the same
work gives the same counts every time: the instructions executed, and the misses of a simulated CPU
cache. They say where the cost grows faster than the sessions, but not by how much time: that
depends on what a miss costs on the machine. So the estimate of cycles is given twice, with the
usual rough weights (an instruction is a cycle, a first-level miss 10 more, a last-level miss 100
more) and with a last-level miss at 200, nearer what a chain of dependent loads from memory costs.

What runs is the one-task pattern of ``scale.py`` (all sessions opened from one task, then each
round every session sends before any reads), for the playground and for the bare queue-driven
sessions it uses as reference. Each count is taken minus the same process with no session at all
(interpreter start, imports), so only the sessions are counted. ``PYTHONHASHSEED`` is fixed.

The simulated last-level cache is 8 MiB by default, close to the least favourable size for this
ratio: the 1,000 sessions (about 7 MB) mostly fit in it and the 10,000 do not, so the larger run
pays for memory that the smaller one finds in the cache. (The machine's own caches: 2 MiB per core,
and a large third level shared with other machines, which is where the timing noise comes from.)
Measured with this script: at 2, 8 and 32 MiB the playground's cycles grow 11.0x, 11.2x and 10.8x
(LL miss 100). At 10,000 sessions about 70% of the last-level misses are in CPython's garbage
collector (``cg_annotate`` on a ``--cachegrind-out-file``): its full collections visit every live
object, each a miss once the heap has outgrown the cache.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from run import Target, report

SMALL, LARGE = 1_000, 10_000
MAX_INSTRUCTION_GROWTH = 10.5  # 10,000 sessions against 1,000
PATTERNS = (("playground, one task", "one_task"), ("bare queue echo, one task", "bare_one_task"))
SUMMARY = {
    "instructions": r"I\s+refs:\s+([\d,]+)",
    "l1_misses": r"I1\s+misses:\s+([\d,]+)",
    "d1_misses": r"D1\s+misses:\s+([\d,]+)",
    "ll_misses": r"LL misses:\s+([\d,]+)",
}


class Counts(NamedTuple):
    instructions: int
    l1_misses: int  # instruction and data, first level
    ll_misses: int  # last level

    def __sub__(self, other: object) -> Counts:
        assert isinstance(other, Counts)
        return Counts(*(a - b for a, b in zip(self, other, strict=True)))

    def cycles(self, ll_miss: int) -> int:
        """A rough cost model: 1 per instruction, 10 per first-level miss, ``ll_miss`` per last-level miss."""
        return self.instructions + 10 * self.l1_misses + ll_miss * self.ll_misses


def run_once(pattern: str, sessions: int) -> int:
    """Inside valgrind: run ``sessions`` sessions of ``pattern`` once (none: just start and import)."""
    import asyncio
    import gc

    import scale

    gc.collect()
    if sessions:
        _, crossed = asyncio.run(getattr(scale, pattern)(sessions))
        if crossed:
            print(f"cross-talk: {crossed} replies reached the wrong session", file=sys.stderr)
            return 1
    return 0


def counted(pattern: str, sessions: int, ll_bytes: int) -> Counts:
    command = [
        "valgrind", "--tool=cachegrind", "--cache-sim=yes", "--cachegrind-out-file=/dev/null",
        "--I1=32768,8,64", "--D1=32768,8,64", f"--LL={ll_bytes},16,64",
        sys.executable, str(Path(__file__).resolve()), "--run-once", pattern, str(sessions),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{pattern} with {sessions:,} sessions failed under valgrind:\n{done.stderr[-2000:]}")
    found = {}
    for name, pattern_re in SUMMARY.items():
        match = re.search(pattern_re, done.stderr)
        if match is None:
            raise SystemExit(f"no {name} in valgrind's summary:\n{done.stderr[-2000:]}")
        found[name] = int(match.group(1).replace(",", ""))
    return Counts(found["instructions"], found["l1_misses"] + found["d1_misses"], found["ll_misses"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--ll", type=float, default=8, help="simulated last-level cache, MiB (default 8)")
    parser.add_argument("--run-once", nargs=2, metavar=("PATTERN", "SESSIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_once:
        return run_once(args.run_once[0], int(args.run_once[1]))
    if shutil.which("valgrind") is None:
        print("needs valgrind (Debian: apt-get install valgrind); benchmarks/scale.py times the same runs")
        return 1
    ll_bytes = int(args.ll * 1024 * 1024)

    jobs = [(pattern, n) for _, pattern in PATTERNS for n in (0, SMALL, LARGE)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # one valgrind per core
        results = dict(zip(jobs, pool.map(lambda job: counted(*job, ll_bytes), jobs), strict=True))

    print(f"WebSocket sessions open at once, counted under cachegrind (last-level cache {args.ll:g} MiB):")
    print(f"the cost of {LARGE:,} sessions against {SMALL:,}")
    print(f"  {'':<28}{'instructions':>13}{'L1 misses':>11}{'LL misses':>11}"
          f"{'cycles, LL miss 100':>21}{'LL miss 200':>13}")
    growth = {}
    for label, pattern in PATTERNS:
        small = results[(pattern, SMALL)] - results[(pattern, 0)]
        large = results[(pattern, LARGE)] - results[(pattern, 0)]
        ratios = [b / a for a, b in zip(small, large, strict=True)]
        ratios += [large.cycles(weight) / small.cycles(weight) for weight in (100, 200)]
        growth[pattern] = ratios[0]
        print(f"  {label:<28}" + "".join(f"{r:>{w}.2f}x" for r, w in zip(ratios, (12, 10, 10, 20, 12), strict=True)))
    print("  (the instructions include the garbage collector's; the bare echo is for reference)")
    missed = report([
        Target(f"instructions: {LARGE:,} / {SMALL:,} sessions", growth["one_task"],
               MAX_INSTRUCTION_GROWTH, False),
    ])
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
