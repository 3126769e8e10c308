"""What changes in the browser (Pyodide: ``sys.platform == "emscripten"``), checked here on CPython.

A child interpreter plays Pyodide's part: it says it is ``emscripten`` and cannot start a thread, as
Pyodide cannot. (tests/lite/test_lite.py runs the notebooks in the real thing.) The channel's timed wait
runs on a loop that, like Pyodide's, refuses to schedule anything in the past.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import textwrap
import threading

import anyio
import pytest

from playground import _browser as browser
from playground._inprocess.channel import TIMEOUT, Channel

pytestmark = pytest.mark.anyio

# Pyodide's start, imitated: the libraries load as they would, then the platform is the browser's and
# a thread cannot start (Pyodide raises exactly this).
AS_IN_PYODIDE = """
import asyncio, sys, threading
import anyio, httpx, starlette.applications
sys.platform = "emscripten"
def start(self):
    raise RuntimeError("can't start new thread")
threading.Thread.start = start
"""


def run_as_in_pyodide(code: str) -> str:
    child = subprocess.run([sys.executable, "-c", AS_IN_PYODIDE + textwrap.dedent(code)],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    return child.stdout


def test_without_the_change_a_sync_handler_cannot_run_there() -> None:
    """The imitation is faithful: Starlette's way to run sync code fails in it unless playground is imported."""
    out = run_as_in_pyodide("""
        from starlette.concurrency import run_in_threadpool

        try:
            asyncio.run(run_in_threadpool(print, "ran"))
        except RuntimeError as error:
            print("failed:", error)
    """)
    assert out.strip() == "failed: can't start new thread"


def test_sync_handlers_run_inline_there_ours_and_starlettes() -> None:
    out = run_as_in_pyodide("""
        import playground
        from playground import Client, HTTPEndpoint
        from starlette import endpoints
        from starlette.applications import Starlette
        from starlette.background import BackgroundTask
        from starlette.responses import PlainTextResponse, StreamingResponse
        from starlette.routing import Route

        where = []

        class Ours(HTTPEndpoint):
            def get(self, request):
                return PlainTextResponse(threading.current_thread().name)

        class Theirs(endpoints.HTTPEndpoint):
            def get(self, request):
                return PlainTextResponse(threading.current_thread().name)

        def function(request):
            task = BackgroundTask(lambda: where.append(threading.current_thread().name))
            return PlainTextResponse(threading.current_thread().name, background=task)

        def chunks(request):
            return StreamingResponse(iter(["a", "b"]))  # a sync iterator: Starlette iterates it in a thread

        app = Starlette(routes=[Route("/ours", Ours), Route("/theirs", Theirs), Route("/function", function),
                                Route("/stream", chunks)])

        async def main():
            client = Client(app)
            for path in ("/ours", "/theirs", "/function", "/stream"):
                r = await client.get(path)
                print(path, r.status_code, r.text)
            print("background", where)

        asyncio.run(main())
        from playground.display.common import http_handlers
        print(http_handlers(Ours)[0].kind)
    """)
    assert out.splitlines() == [
        "/ours 200 MainThread", "/theirs 200 MainThread", "/function 200 MainThread", "/stream 200 ab",
        "background ['MainThread']", "sync, runs inline (no threads in the browser)",
    ]


def test_live_mode_says_it_needs_a_real_kernel_there() -> None:
    out = run_as_in_pyodide("""
        import playground
        from playground import Client, serve  # importing works; calling says why it cannot

        for attempt in (lambda: serve(object()), lambda: Client("http://127.0.0.1:8000"),
                        lambda: playground.Server):
            try:
                attempt()
            except RuntimeError as error:
                print(type(error).__name__, error)
        print("uvicorn" in sys.modules, "websockets" in sys.modules)
    """)
    lines = out.splitlines()
    assert lines[0].startswith("LiveModeUnavailable serve() is live mode, which needs a real kernel: this one "
                               "runs in the browser (Pyodide)")
    assert lines[1].startswith("LiveModeUnavailable Client('http://127.0.0.1:8000') is live mode")
    assert lines[2].startswith("LiveModeUnavailable playground.Server is live mode")
    assert all("make lab" in line for line in lines[:3])
    assert lines[3] == "False False"


def test_here_nothing_changes() -> None:
    import anyio.to_thread

    assert not browser.IN_BROWSER
    assert anyio.to_thread.run_sync is not browser.run_sync_inline
    assert browser.SYNC_HANDLER == "sync (runs in a worker thread)"


async def test_an_inline_call_is_like_a_threaded_one() -> None:
    """The caller's context variables are seen, changes to them stay inside, and no thread is used."""
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")
    var.set("caller")

    def work(suffix: str) -> tuple[str, str]:
        seen = var.get()
        var.set("changed inside")
        return seen + suffix, threading.current_thread().name

    assert await browser.run_sync_inline(work, "!") == ("caller!", threading.current_thread().name)
    assert var.get() == "caller"


async def test_an_inline_call_in_a_cancelled_scope_does_not_start() -> None:
    started = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        await browser.run_sync_inline(started.append, 1)
    assert scope.cancelled_caught and started == []


class NoPastLoop(asyncio.SelectorEventLoop):
    """Refuses a timer in the past, as Pyodide's WebLoop does ("Can't schedule in the past")."""

    def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def, override]
        if when < self.time():
            raise ValueError("Can't schedule in the past")
        return super().call_at(when, callback, *args, context=context)

    def call_later(self, delay, callback, *args, context=None):  # type: ignore[no-untyped-def, override]
        if delay < 0:
            raise ValueError("Can't schedule in the past")
        return super().call_at(self.time() + delay, callback, *args, context=context)


def test_timed_waits_never_schedule_in_the_past() -> None:
    async def waits() -> list:
        channel: Channel[int] = Channel()
        results = [await channel.get(timeout) for timeout in (0.0, 1e-9, 1e-6, 0.001) for _ in range(50)]
        # A wait that outlasts one wake-up period: its last timer is clamped to the deadline, not past it.
        results.append(await channel.wait(0.15))
        return results

    loop = NoPastLoop()
    try:
        results = loop.run_until_complete(waits())
    finally:
        loop.close()
    assert results[:-1] == [TIMEOUT] * 200 and results[-1] is False
