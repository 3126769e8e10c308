"""Many WebSocket sessions open at once in one event loop: time, linearity, memory, no cross-talk.

    python benchmarks/scale.py           # 1,000 and 10,000 sessions, median of 3 each
    python benchmarks/scale.py --check   # exit 1 when a target is missed
    python benchmarks/scale.py --quick   # 200 and 2,000 sessions, one run each

Every session connects with its own number in the query string, and the endpoint answers each
message with that number and the message, so a reply that reaches the wrong session, or a scope
that went to the wrong app instance, is caught. Two ways of holding N sessions open at once:

- one task: all N opened into a plain list, then each round sends on every session before reading
  any reply, so N messages are in flight together;
- a task each: one task per session; none starts talking until all N are open.

Targets (DESIGN.md), on the one-task pattern, which measures the sessions themselves: timed, the
playground's growth from 1,000 to 10,000 sessions is no worse than the bare queue echo's in the same
run (a time ratio alone moves from about 8x to 16x between runs of the same code on a shared 2-core
machine; both contenders move together); memory per open session at most 8 KiB; no cross-talk.
``benchmarks/scale_cost.py`` counts the same one-task runs under cachegrind instead (instructions and
cache misses, the same figures every time): its target is 10,000 sessions at most 10.5x the
instructions of 1,000, and it shows where the growth comes from. With a task each, the caller's own
tasks are in the measure too: per session a coroutine, a Task, a Context, a TaskGroup callback with its own
Context and an Event wait, about 11 objects, close to the playground's own 15 that an open session
keeps (see below for why objects count). That pattern is reported beside the same pattern with
bare sessions. For reference, both patterns run with bare sessions (two
``asyncio.Queue`` objects and a task around the same endpoint, no playground in it). Each run
starts from a collected heap (``gc.collect()`` before it, outside the timing), so that no run pays
for the garbage of the one before.

Beside each ratio: the same ratio for the time outside CPython's cyclic garbage collector, the
collector's share, and how many full (oldest generation) collections ran. Outside the collector
the cost is linear, give or take the CPU caches. Inside it, CPython 3.11 runs a full collection
after about every 85,000 allocations of container objects that are still alive (dicts, lists,
tuples, coroutines, instances; even those it does not track, like a dict of strings), unless those
are under a quarter of the long-lived ones. Each full collection goes through every live object.
So while sessions are being opened, full collections come at a fixed pace and each is longer than
the last: their total grows with the square of the sessions, until the heap passes a few hundred
thousand objects and the quarter rule spaces them out. 1,000 sessions never reach one; 10,000
reach several. Counted in instructions these collections are a small part (``scale_cost.py``: the
instructions grow about 10x); what costs is that, once the heap outgrows the CPU cache, every
object they visit is a cache miss. Hence what matters is how few objects an open session keeps, and that a finished
one is freed by reference counting instead of waiting for the collector.
Memory per open session is reported (tracemalloc, while all are open and each has exchanged its
messages), bare beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple

from run import Target, report

from playground import Client, WebSocketEndpoint
from playground.websocket import WebSocketSession

MESSAGES = 3  # per session
MAX_KIB_PER_SESSION = 8


class Tagged(WebSocketEndpoint):
    """Answers ``<session number>|<message>``: the number comes from this connection's own scope."""

    encoding = "text"

    async def on_connect(self, websocket: Any) -> None:
        self.number = websocket.query_params["n"]
        await websocket.accept()

    async def on_receive(self, websocket: Any, data: str) -> None:
        await websocket.send_text(f"{self.number}|{data}")


def payload(number: int, round_: int) -> str:
    return f"message {round_} of session {number}"


def expected(number: int, round_: int) -> str:
    return f"{number}|{payload(number, round_)}"


async def one_task(n: int) -> tuple[float, int]:
    """All sessions opened by one task; each round, every session sends before any reads."""
    client = Client(Tagged)
    crossed = 0
    start = time.perf_counter()
    async with open_sessions(client, n) as sessions:
        for round_ in range(MESSAGES):
            for i, ws in enumerate(sessions):
                await ws.send_text(payload(i, round_))
            for i, ws in enumerate(sessions):
                crossed += await ws.receive_text() != expected(i, round_)
    elapsed = time.perf_counter() - start
    assert all(ws.close_code == 1000 for ws in sessions)
    return elapsed, crossed


@contextlib.asynccontextmanager
async def open_sessions(client: Client, n: int) -> AsyncIterator[list[WebSocketSession]]:
    """N sessions held in a plain list, as the bare reference holds its own, closed on the way out.

    (An ``AsyncExitStack`` would keep two more objects per session, a callback and its entry, for
    the garbage collector to go through: the harness's cost, not the sessions'.)
    """
    sessions: list[WebSocketSession] = []
    try:
        for i in range(n):
            sessions.append(await client.websocket_connect(f"/ws?n={i}"))
        yield sessions
    finally:
        for ws in sessions:
            await ws.close()


async def many_tasks(n: int) -> tuple[float, int]:
    """One task per session; all N are open before any of them talks."""
    client = Client(Tagged)
    all_open = asyncio.Event()
    opened = 0
    crossed = 0

    async def talk(i: int) -> None:
        nonlocal opened, crossed
        async with client.websocket_connect(f"/ws?n={i}") as ws:
            opened += 1
            if opened == n:
                all_open.set()
            await all_open.wait()
            for round_ in range(MESSAGES):
                await ws.send_text(payload(i, round_))
                crossed += await ws.receive_text() != expected(i, round_)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(n):
            group.create_task(talk(i))
    return time.perf_counter() - start, crossed


async def bare_one_task(n: int) -> tuple[float, int]:
    """The reference: the one-task pattern with bare sessions (two queues and a task each)."""
    crossed = 0
    start = time.perf_counter()
    sessions = [await open_bare(i) for i in range(n)]
    for round_ in range(MESSAGES):
        for i, (to_app, _, _) in enumerate(sessions):
            to_app.put_nowait({"type": "websocket.receive", "text": payload(i, round_)})
        for i, (_, to_client, _) in enumerate(sessions):
            crossed += (await to_client.get())["text"] != expected(i, round_)
    await close_bare(sessions)
    return time.perf_counter() - start, crossed


async def bare_many_tasks(n: int) -> tuple[float, int]:
    """The reference for a task each: one task per bare session; all N are open before any talks."""
    all_open = asyncio.Event()
    opened = 0
    crossed = 0

    async def talk(i: int) -> None:
        nonlocal opened, crossed
        session = await open_bare(i)
        to_app, to_client, _ = session
        opened += 1
        if opened == n:
            all_open.set()
        await all_open.wait()
        for round_ in range(MESSAGES):
            to_app.put_nowait({"type": "websocket.receive", "text": payload(i, round_)})
            crossed += (await to_client.get())["text"] != expected(i, round_)
        await close_bare([session])

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(n):
            group.create_task(talk(i))
    return time.perf_counter() - start, crossed


async def playground_memory(n: int) -> float:
    """Bytes allocated per open session (after its messages), all N open at once."""
    client = Client(Tagged)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    async with open_sessions(client, n) as sessions:
        for i, ws in enumerate(sessions):
            for round_ in range(MESSAGES):
                await ws.send_text(payload(i, round_))
                assert await ws.receive_text() == expected(i, round_)
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / n


async def serve_bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await Tagged(scope, receive, send)


BareSession = tuple["asyncio.Queue[dict[str, Any]]", "asyncio.Queue[dict[str, Any]]", "asyncio.Task[None]"]


async def open_bare(number: int) -> BareSession:
    """A bare session: two ``asyncio.Queue`` objects and a task around the endpoint, accepted."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    to_client: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "websocket", "path": "/ws", "query_string": f"n={number}".encode(), "headers": [],
             "subprotocols": []}
    task = asyncio.create_task(serve_bare(scope, to_app.get, to_client.put))
    to_app.put_nowait({"type": "websocket.connect"})
    assert (await to_client.get())["type"] == "websocket.accept"
    return to_app, to_client, task


async def close_bare(sessions: list[BareSession]) -> None:
    for to_app, _, _ in sessions:
        to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*(task for _, _, task in sessions))


async def bare_memory(n: int) -> float:
    """Bytes per open bare session, measured the same way."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    sessions = [await open_bare(i) for i in range(n)]
    for i, (to_app, to_client, _) in enumerate(sessions):
        for round_ in range(MESSAGES):
            to_app.put_nowait({"type": "websocket.receive", "text": payload(i, round_)})
            assert (await to_client.get())["text"] == expected(i, round_)
    gc.collect()
    per_session = (tracemalloc.get_traced_memory()[0] - before) / n
    await close_bare(sessions)
    return per_session


class GCTimer:
    """Seconds the cyclic garbage collector ran, and how many collections of each generation."""

    def __init__(self) -> None:
        self.total = 0.0
        self.collections = [0, 0, 0]
        self._began = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._began
            self.collections[info["generation"]] += 1


GC_TIMER = GCTimer()


class Timing(NamedTuple):
    seconds: float  # medians of the repeats
    gc_seconds: float
    full_collections: int

    @property
    def outside_gc(self) -> float:
        return self.seconds - self.gc_seconds


def timed(run: Callable[[int], Awaitable[tuple[float, int]]], n: int, repeats: int) -> Timing:
    """Median seconds for ``n`` sessions, of those in the GC, and of full (oldest generation) collections."""
    times, gc_times, full = [], [], []
    for _ in range(repeats):
        gc.collect()  # every run starts from the same state: no garbage left by the run before
        gc_before, full_before = GC_TIMER.total, GC_TIMER.collections[2]
        elapsed, crossed = asyncio.run(run(n))  # type: ignore[arg-type]
        if crossed:
            raise SystemExit(f"cross-talk: {crossed} of {n * MESSAGES} replies reached the wrong session")
        times.append(elapsed)
        gc_times.append(GC_TIMER.total - gc_before)
        full.append(GC_TIMER.collections[2] - full_before)
    return Timing(statistics.median(times), statistics.median(gc_times), round(statistics.median(full)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 sessions, one run each")
    args = parser.parse_args()
    small, large, repeats = (200, 2000, 1) if args.quick else (1000, 10000, 3)

    print(f"WebSocket sessions open at once, {MESSAGES} messages each; median of {repeats} runs")
    print(f"  {'':<30}{small:>8,}{large:>9,}   ratio   outside GC   GC share   full GCs")
    contenders = (
        ("playground, one task", one_task, "(target: no more than the bare echo's)"),
        ("bare queue echo, one task", bare_one_task, "(reference)"),
        ("playground, a task each", many_tasks, "(the caller's tasks count too)"),
        ("bare queue echo, a task each", bare_many_tasks, "(reference)"),
    )
    growth = {}
    for label, run, verdict in contenders:
        small_run, large_run = timed(run, small, repeats), timed(run, large, repeats)
        ratio = growth[run] = large_run.seconds / small_run.seconds
        print(f"  {label:<30}{small_run.seconds:>7.2f}s{large_run.seconds:>8.2f}s {ratio:>6.2f}x"
              f"   {large_run.outside_gc / small_run.outside_gc:>8.2f}x"
              f"   {small_run.gc_seconds / small_run.seconds:>3.0%} -> {large_run.gc_seconds / large_run.seconds:>3.0%}"
              f"   {small_run.full_collections:>2} -> {large_run.full_collections:<2}  {verdict}")
    print("  no cross-talk: every reply carried its own session's number and payload")

    tracemalloc.start()
    ours = asyncio.run(playground_memory(small))
    bare = asyncio.run(bare_memory(small))  # the reference
    tracemalloc.stop()
    print(f"\nMemory per open session ({small:,} open, {MESSAGES} messages each, tracemalloc)")
    print(f"  playground session           {ours / 1024:8.1f} KiB")
    print(f"  bare queue-driven session    {bare / 1024:8.1f} KiB   (playground: {ours / bare:.1f}x)")

    missed = report([
        Target(f"growth {small:,} -> {large:,}: playground / bare echo", growth[one_task] / growth[bare_one_task],
               1, False),
        Target("memory per open session", ours / 1024, MAX_KIB_PER_SESSION, False, "KiB"),
    ])
    print(f"  (growth, one task: playground {growth[one_task]:.2f}x, bare queue echo {growth[bare_one_task]:.2f}x)")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
