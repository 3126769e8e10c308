"""Speed of the playground client against its peers, all measured in this one run.

    python benchmarks/run.py            # what `make bench` runs; prints figures, always exits 0
    python benchmarks/run.py --check    # exit 1 when a target is missed
    python benchmarks/run.py --quick    # fewer rounds, smaller batches: a smoke run

Three comparisons (the targets are in DESIGN.md, "Targets"):

1. HTTP round trips/s of ``await client.get("/")`` against an ``HTTPEndpoint`` that returns a
   ``PlainTextResponse``: the playground ``Client`` (default settings, traces on) against
   ``httpx.AsyncClient(transport=httpx.ASGITransport(app))``, Starlette's ``TestClient`` inside ``with``
   (synchronous: timed from the main thread with no loop running, as a user would call it), and a bare
   ``await app(scope, receive, send)`` loop.
2. WebSocket echo round trips/s (``send_text`` then ``receive_text``) against a ``WebSocketEndpoint``
   with ``encoding = "text"``: the playground session, Starlette's ``TestClient`` session, and a bare echo
   driven through two ``asyncio.Queue`` objects around the same app.
3. Import time, each in a fresh interpreter: ``import playground`` against
   ``import starlette.endpoints, starlette.responses, httpx``. Wall time and CPU time of the import
   statement are both shown; the ratio is taken on CPU time, which other processes sharing the
   machine disturb far less (their wall-time spread here is several times larger).

The contenders take turns within each round, ten short turns each in a rotating order, so that a
busy machine slows them alike (this machine's speed drifts within a second: one long run each made
the HTTP ratio swing between 1.7x and 3.1x from one `make bench` to the next); a contender's rate in
a round is its round trips over its time summed over its turns, a rate is the median over the
rounds, and a ratio is the median of the per-round ratios. Every contender drives the same app
object: the endpoint behind a three-line lifespan shim, which Starlette's ``TestClient`` needs inside
``with`` and the others never reach.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from types import AsyncGeneratorType
from typing import Any

import httpx
from starlette.responses import PlainTextResponse

import playground
from playground import Client, HTTPEndpoint, WebSocketEndpoint

# Starlette's TestClient warns that it falls back to httpx when httpx2 is absent; that is expected here.
warnings.filterwarnings("ignore", module=r"starlette\.testclient")
warnings.filterwarnings("ignore", message=r".*httpx2.*")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]


class Hello(HTTPEndpoint):
    async def get(self, request: Any) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")


class Echo(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: Any, data: str) -> None:
        await websocket.send_text(data)


def with_lifespan(endpoint: Any) -> ASGIApp:
    """The endpoint as an app that also answers lifespan (so ``with TestClient(app)`` can start)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await endpoint(scope, receive, send)

    return app


HTTP_APP = with_lifespan(Hello)
WS_APP = with_lifespan(Echo)

BASE_SCOPE: dict[str, Any] = {
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"accept", b"*/*"), (b"user-agent", b"bench")],
    "client": ("127.0.0.1", 50000),
    "server": ("testserver", 80),
    "extensions": {},
}


# -- the contenders ------------------------------------------------------------------------------------
#
# Each is a generator: set up once per round, then sent a batch size for every turn, it answers with
# the round trips per second of that batch (setup and checks untimed); sent 0, it checks the last
# answer and ends. So a client or session lasts the whole round, as a user's would, across turns.

Rates = Generator[float, int, None]
AsyncRates = AsyncGenerator[float, int]


async def gets_per_second(client: Any, n: int) -> float:
    """``n`` times ``await client.get("/")``, for the two async clients."""
    start = time.perf_counter()
    for _ in range(n):
        await client.get("/")
    return n / (time.perf_counter() - start)


async def http_playground() -> AsyncRates:
    client = Client(HTTP_APP)
    await client.get("/")  # warm up
    n = yield 0.0
    while n:
        n = yield await gets_per_second(client, n)
    response = await client.get("/")
    assert response.status_code == 200 and response.text == "Hello, world!"
    assert response.trace.types[-1] == "http.response.body"


async def http_httpx() -> AsyncRates:
    transport = httpx.ASGITransport(app=HTTP_APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/")
        n = yield 0.0
        while n:
            n = yield await gets_per_second(client, n)
        response = await client.get("/")
    assert response.status_code == 200 and response.text == "Hello, world!"


async def http_bare() -> AsyncRates:
    request = {"type": "http.request", "body": b"", "more_body": False}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    n = yield 0.0
    while n:
        sent.clear()
        start = time.perf_counter()
        for _ in range(n):
            await HTTP_APP({**BASE_SCOPE, "type": "http", "method": "GET"}, receive, send)
        elapsed = time.perf_counter() - start
        assert len(sent) == 2 * n and sent[-1]["body"] == b"Hello, world!"
        n = yield n / elapsed


def http_starlette(test_client: Any) -> Rates:
    test_client.get("/")
    n = yield 0.0
    while n:
        start = time.perf_counter()
        for _ in range(n):
            test_client.get("/")
        n = yield n / (time.perf_counter() - start)
    response = test_client.get("/")
    assert response.status_code == 200 and response.text == "Hello, world!"


async def ws_playground() -> AsyncRates:
    client = Client(WS_APP)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("warm up")
        await ws.receive_text()
        n = yield 0.0
        while n:
            start = time.perf_counter()
            for _ in range(n):
                await ws.send_text("hello")
                await ws.receive_text()
            n = yield n / (time.perf_counter() - start)
        await ws.send_text("last")
        assert await ws.receive_text() == "last"
    assert ws.close_code == 1000


async def ws_bare() -> AsyncRates:
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    to_client: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {**BASE_SCOPE, "type": "websocket", "scheme": "ws", "path": "/ws", "raw_path": b"/ws",
             "subprotocols": []}
    task = asyncio.create_task(WS_APP(scope, to_app.get, to_client.put))
    to_app.put_nowait({"type": "websocket.connect"})
    assert (await to_client.get())["type"] == "websocket.accept"
    message = {"type": "websocket.receive", "text": "hello"}
    n = yield 0.0
    while n:
        start = time.perf_counter()
        for _ in range(n):
            to_app.put_nowait(message)
            await to_client.get()
        n = yield n / (time.perf_counter() - start)
    to_app.put_nowait({"type": "websocket.receive", "text": "last"})
    assert (await to_client.get())["text"] == "last"
    to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await task


def ws_starlette(test_client: Any) -> Rates:
    with test_client.websocket_connect("/ws") as ws:
        ws.send_text("warm up")
        ws.receive_text()
        n = yield 0.0
        while n:
            start = time.perf_counter()
            for _ in range(n):
                ws.send_text("hello")
                ws.receive_text()
            n = yield n / (time.perf_counter() - start)
        ws.send_text("last")
        assert ws.receive_text() == "last"


# -- import time ------------------------------------------------------------------------------------

HEAVY = ("uvicorn", "websockets", "IPython", "ipykernel")  # loaded only where used
MUST_STAY_OUT = ("uvicorn", "websockets", "IPython")
PEER_MODULES = "starlette.endpoints, starlette.responses, httpx"
IMPORT_PROBE = (
    "import sys, time\n"
    "wall, cpu = time.perf_counter(), time.process_time()\n"
    "import {modules}\n"
    "wall, cpu = time.perf_counter() - wall, time.process_time() - cpu\n"
    "print(wall, cpu, *[name for name in {heavy!r} if name in sys.modules])\n"
)


def import_once(modules: str) -> tuple[float, float, list[str]]:
    """Wall and CPU seconds of the import statement in a fresh interpreter; the heavy modules it loaded."""
    code = IMPORT_PROBE.format(modules=modules, heavy=HEAVY)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stdout.split()
    return float(out[0]), float(out[1]), out[2:]


# -- running and reporting --------------------------------------------------------------------------


@dataclass
class Target:
    label: str
    value: float
    goal: float
    at_least: bool  # True: value >= goal passes; False: value <= goal passes
    unit: str = "x"

    @property
    def passed(self) -> bool:
        return self.value >= self.goal if self.at_least else self.value <= self.goal

    def row(self) -> str:
        sign = ">=" if self.at_least else "<="
        if self.unit == "%":
            measured, goal = f"{self.value:.0%}", f"{self.goal:.0%}"
        elif self.unit == "x":
            measured, goal = f"{self.value:.2f}x", f"{self.goal:g}x"
        else:  # a quantity, such as KiB
            measured, goal = f"{self.value:.1f} {self.unit}", f"{self.goal:g} {self.unit}"
        return f"  {self.label:<44} {measured:>9}   {sign} {goal:<6} {'PASS' if self.passed else 'FAIL'}"


def report(targets: list[Target]) -> list[Target]:
    """Print the targets as PASS/FAIL lines; the ones missed."""
    print("\nTargets (DESIGN.md)")
    for target in targets:
        print(target.row())
    return [t for t in targets if not t.passed]


TURNS = 10  # turns per contender in a round


def _send(loop: asyncio.AbstractEventLoop, rates: Rates | AsyncRates, n: int | None) -> float:
    """Give a contender its next batch (``None``: start it; 0: let it check and end); its answer."""
    try:
        if isinstance(rates, AsyncGeneratorType):
            return loop.run_until_complete(rates.asend(n))  # type: ignore[arg-type]
        return rates.send(n)  # type: ignore[arg-type]  # Starlette's TestClient: called outside any loop
    except (StopIteration, StopAsyncIteration):
        return 0.0


def run_rounds(
    loop: asyncio.AbstractEventLoop, rounds: int, contenders: dict[str, tuple[int, Callable[[], Any]]]
) -> tuple[dict[str, float], dict[str, float]]:
    """Each contender ``TURNS`` times per round, in turns; the median rate of each, and the median
    per-round ratio of the playground's rate to each.

    A contender is ``(batch size, generator function)``, the batch split over the turns.
    """
    names = list(contenders)
    rates: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        running = {name: contenders[name][1]() for name in names}
        for name in names:
            _send(loop, running[name], None)
        done = dict.fromkeys(names, 0)
        seconds = dict.fromkeys(names, 0.0)
        for turn in range(TURNS):
            start = (round_ + turn) % len(names)
            for name in names[start:] + names[:start]:
                n = max(contenders[name][0] // TURNS, 1)
                done[name] += n
                seconds[name] += n / _send(loop, running[name], n)
        for name in names:
            _send(loop, running[name], 0)
        measured = {name: done[name] / seconds[name] for name in names}
        for name in names:
            rates[name].append(measured[name])
            ratios[name].append(measured[PG] / measured[name])
    median = statistics.median
    return {name: median(rates[name]) for name in names}, {name: median(ratios[name]) for name in names}


def print_rates(title: str, rates: dict[str, float], rounds: int, sizes: dict[str, int]) -> None:
    print(f"\n{title} (median of {rounds} rounds)")
    for name, rate in rates.items():
        print(f"  {name:<40} {rate:>10,.0f} /s   ({sizes[name]:,} per round)")


PG, HX, ST, BARE = "playground", "httpx ASGITransport", "Starlette TestClient (with)", "bare await app(...)"
WS_ST, WS_BARE = "Starlette TestClient", "bare queue-driven ASGI echo"


def measure_http(loop: asyncio.AbstractEventLoop, rounds: int, n: int) -> dict[str, float]:
    """Prints the rates; returns the playground's ratio to each contender."""
    from starlette.testclient import TestClient

    with TestClient(HTTP_APP) as test_client:
        contenders: dict[str, tuple[int, Callable[[], Any]]] = {
            PG: (n, http_playground),
            HX: (n, http_httpx),
            ST: (max(n // 10, 50), lambda: http_starlette(test_client)),
            BARE: (n * 2, http_bare),
        }
        rates, ratios = run_rounds(loop, rounds, contenders)
    sizes = {name: size for name, (size, _) in contenders.items()}
    print_rates("HTTP round trips: await client.get('/') -> PlainTextResponse", rates, rounds, sizes)
    return ratios


def measure_ws(loop: asyncio.AbstractEventLoop, rounds: int, n: int) -> dict[str, float]:
    """Prints the rates; returns the playground's ratio to each contender."""
    from starlette.testclient import TestClient

    with TestClient(WS_APP) as test_client:
        contenders: dict[str, tuple[int, Callable[[], Any]]] = {
            PG: (n, ws_playground),
            WS_ST: (max(n // 10, 50), lambda: ws_starlette(test_client)),
            WS_BARE: (n * 2, ws_bare),
        }
        rates, ratios = run_rounds(loop, rounds, contenders)
    sizes = {name: size for name, (size, _) in contenders.items()}
    print_rates("WebSocket echo round trips: send_text + receive_text", rates, rounds, sizes)
    return ratios


def measure_imports(runs: int) -> tuple[dict[str, float], list[str]]:
    contenders = {"playground": "playground", "peers": PEER_MODULES}
    # Both sides import from bytecode, as from any installed package: pip compiled the peers when
    # it installed them, and an import writes this checkout's __pycache__, unless (as on some
    # machines) PYTHONDONTWRITEBYTECODE is set; then every probe would compile our modules anew.
    compileall.compile_dir(Path(playground.__file__).parent, quiet=1)
    for modules in contenders.values():
        import_once(modules)  # warm the file cache before timing
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    heavy_loaded: set[str] = set()
    for _ in range(runs):
        for name, modules in contenders.items():
            wall_seconds, cpu_seconds, heavy = import_once(modules)
            wall[name].append(wall_seconds)
            cpu[name].append(cpu_seconds)
            if modules == "playground":
                heavy_loaded.update(heavy)
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"\nImport time, fresh interpreter each (median of {runs} runs)   wall       CPU")
    for name in contenders:
        print(f"  import {contenders[name]:<50} {statistics.median(wall[name]) * 1000:>7.1f} ms "
              f"{medians[name] * 1000:>7.1f} ms")
    for name in HEAVY:
        state = "LOADED" if name in heavy_loaded else "not loaded"
        print(f"  after `import playground`: {name:<12} {state}")
    return medians, sorted(heavy_loaded.intersection(MUST_STAY_OUT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller batches (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per comparison (default 5)")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    http_n, ws_n, import_runs = (300, 500, 3) if args.quick else (2000, 4000, 15)

    print(f"Python {sys.version.split()[0]} on {sys.platform}; httpx {httpx.__version__}; "
          f"starlette {__import__('starlette').__version__}")
    begun = time.perf_counter()
    loop = asyncio.new_event_loop()
    try:
        http_vs = measure_http(loop, rounds, http_n)
        ws_vs = measure_ws(loop, rounds, ws_n)
    finally:
        loop.close()
    imports, heavy = measure_imports(import_runs)

    targets = [
        Target("HTTP: playground / httpx ASGITransport", http_vs[HX], 2.5, True),
        Target("HTTP: playground / Starlette TestClient", http_vs[ST], 25, True),
        Target("WS echo: playground / Starlette TestClient", ws_vs[WS_ST], 10, True),
        Target("WS echo: playground / bare queue echo", ws_vs[WS_BARE], 0.9, True, "%"),
        Target("import (CPU): playground / starlette+httpx", imports["playground"] / imports["peers"], 1.25,
               False),
        Target("import: uvicorn/websockets/IPython loaded", float(len(heavy)), 0, False, "count"),
    ]
    print(f"\nHTTP: the playground Client runs at {http_vs[BARE]:.1%} of the bare `await app(...)` loop "
          "(reported, no target)")
    print("\nTargets (DESIGN.md)")
    for target in targets:
        if target.unit == "count":
            status = "PASS" if target.passed else f"FAIL ({', '.join(heavy)})"
            print(f"  {target.label:<44} {len(heavy):>9}   == 0      {status}")
        else:
            print(target.row())
    missed = [t for t in targets if not t.passed]
    print(f"\n{len(targets) - len(missed)} of {len(targets)} targets met; "
          f"run took {time.perf_counter() - begun:.0f} s")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
