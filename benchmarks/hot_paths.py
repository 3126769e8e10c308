"""Where the time goes on the two hot paths: an HTTP round trip and a WebSocket echo, under cProfile.

    python benchmarks/hot_paths.py                 # both paths, top 25 functions by own time
    python benchmarks/hot_paths.py http --top 40
    python benchmarks/hot_paths.py ws --sort cumulative

The apps are the ones ``run.py`` measures. Profiling slows Python code several times and the
event loop's own machinery less, so read the shares, not the absolute times; ``run.py`` gives those.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time

from run import HTTP_APP, WS_APP

from playground import Client


async def http_path(n: int) -> None:
    client = Client(HTTP_APP)
    for _ in range(n):
        await client.get("/")


async def ws_path(n: int) -> None:
    async with Client(WS_APP).websocket_connect("/ws") as ws:
        for _ in range(n):
            await ws.send_text("hello")
            await ws.receive_text()


PATHS = {"http": (http_path, 5000), "ws": (ws_path, 20000)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", metavar="{http,ws}", help="default: both")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative", "ncalls"])
    args = parser.parse_args()
    unknown = set(args.paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown path {', '.join(sorted(unknown))}; choose from {', '.join(PATHS)}")
    for name in args.paths or PATHS:
        run, n = PATHS[name]
        asyncio.run(run(n // 10))  # warm up: imports, caches
        start = time.perf_counter()
        asyncio.run(run(n))
        plain = time.perf_counter() - start
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run(n))
        profiler.disable()
        print(f"\n=== {name}: {n:,} round trips, {n / plain:,.0f}/s unprofiled ({plain / n * 1e6:.1f} µs each)")
        stats = pstats.Stats(profiler).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
