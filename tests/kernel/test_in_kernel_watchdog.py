"""An app that blocks the event loop, in a real IPython kernel: reported, stopped at the timeout, and the
kernel fine afterwards (its next cell, its signal handlers, its own Interrupt).

Each stopping test prints the time from the block to the error, measured in the cell; run with ``-s``
to see them (``-rA`` shows them in the summary too).
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ipython_kernel import CELL_TIMEOUT, Kernel

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    running = Kernel()
    try:
        running.run(
            """
            import asyncio, os, signal, threading, time, warnings
            from starlette.responses import PlainTextResponse
            from playground import Client, EventLoopBlocked, EventLoopBlockedWarning, HTTPEndpoint, WebSocketEndpoint

            def app_tasks():  # by the private class's name: nothing public tells them from ipykernel's tasks
                return [t for t in asyncio.all_tasks() if 'AppTask' in t.get_coro().__qualname__]

            class Sleeps(HTTPEndpoint):
                async def get(self, request):
                    time.sleep(float(request.query_params["s"]))
                    return PlainTextResponse("slept")

            class Spins(HTTPEndpoint):
                async def get(self, request):
                    end = time.perf_counter() + float(request.query_params["s"])
                    while time.perf_counter() < end:
                        pass
                    return PlainTextResponse("spun")

            class InThread(HTTPEndpoint):
                def get(self, request):
                    time.sleep(2)
                    return PlainTextResponse("slept in a thread")

            class RunsAShell(HTTPEndpoint):
                async def get(self, request):
                    os.system("sleep 2")  # C's system() waits again when a signal interrupts it
                    return PlainTextResponse("ran")

            from playground._inprocess import watchdog  # private: to look with the thread, as elsewhere

            def with_the_thread(on):
                watchdog._ticks_unavailable = "the test asks for the thread" if on else ""
            """
        )
        yield running
    finally:
        running.close()


def run_with_stderr(kernel: Kernel, code: str) -> tuple[str, str]:
    """A cell's stdout and stderr; fails with the cell's error if it raised."""
    out: list[str] = []
    err: list[str] = []
    errors: list[dict[str, Any]] = []

    def collect(message: dict[str, Any]) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            (out if content["name"] == "stdout" else err).append(content["text"])
        elif kind == "error":
            errors.append(content)

    kernel.client.execute_interactive(textwrap.dedent(code), timeout=CELL_TIMEOUT, output_hook=collect,
                                      store_history=False)
    if errors:
        tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0]["traceback"]))
        pytest.fail(f"cell raised {errors[0]['ename']}: {errors[0]['evalue']}\n{tb}", pytrace=False)
    return "".join(out), "".join(err)


def state(kernel: Kernel) -> str:
    """What must be the same before and after: threads, app tasks, the SIGINT handler between cells."""
    return kernel.run(
        "print(sorted(t.name for t in threading.enumerate() if t.name != 'playground watchdog'),"
        " signal.getsignal(signal.SIGINT), len(app_tasks()))"
    )


@pytest.mark.parametrize("app, line", [("Sleeps", 'time.sleep(float(request.query_params["s"]))'),
                                       ("Spins", "while time.perf_counter() < end:")])
def test_a_block_past_the_timeout_is_stopped_and_named(kernel: Kernel, app: str, line: str) -> None:
    kernel.run(f"warm = await Client({app}).get('/?s=0')")  # the watchdog thread starts on first use
    before = state(kernel)
    out, err = run_with_stderr(
        kernel,
        f"""
        started = time.perf_counter()
        try:
            await Client({app}, timeout=1).get("/?s=60")
        except EventLoopBlocked as exc:
            error = exc
        else:
            raise AssertionError("no EventLoopBlocked")
        elapsed = time.perf_counter() - started
        # The cell awaits on unharmed: ipykernel scheduled no cancel of it.
        await asyncio.sleep(0.2)
        assert isinstance(error, TimeoutError)
        # A block is timed by ticks 50 ms apart, from halfway between two of them: the stop may come
        # that much before the second is quite up.
        assert 0.95 <= elapsed < 3.0, elapsed
        assert 1.0 <= error.blocked_for < 1.5, error.blocked_for
        print(f"block to error: {{elapsed:.2f}} s (blocked_for {{error.blocked_for:.2f}} s); {{error}}")
        """,
    )
    print(f"\n{app}: {out.strip()}")
    assert f"in {app}.get, line " in out and line in out, out
    assert "past the client's timeout of 1 s (response start); the client stopped it" in out
    assert "await asyncio.sleep" in out and "anyio.to_thread.run_sync" in out
    assert err == ""  # stopped: the error says it all, no warning besides
    # The kernel answers at once, nothing of the app is left, no thread or handler changed.
    assert kernel.run("await asyncio.sleep(0.1); print('next cell')").strip() == "next cell"
    assert state(kernel) == before
    assert kernel.run("print(sum(t.name == 'playground watchdog' for t in threading.enumerate()))").strip() == "1"


def test_a_short_block_is_reported_once_and_not_stopped(kernel: Kernel) -> None:
    out, err = run_with_stderr(
        kernel,
        """
        r = await Client(Sleeps, timeout=5).get("/?s=0.3")
        assert r.status_code == 200 and r.text == "slept"
        assert len(r.trace.blocks) == 1 and 0.2 <= r.trace.blocks[0].duration < 0.45, r.trace.blocks
        print(repr(r.trace.blocks[0]))
        from playground.display.text import response_text
        print(response_text(r))
        """,
    )
    assert "the app blocked the event loop for 0.3 s in Sleeps.get, line " in out, out
    assert out.count("A blocking call stops everything else on the loop") == 1  # in the display
    assert err.count("EventLoopBlockedWarning: the app blocked the event loop for 0.3 s in Sleeps.get") == 1, err


def test_a_blocking_def_handler_runs_in_a_thread_and_is_not_reported(kernel: Kernel) -> None:
    out, err = run_with_stderr(
        kernel,
        """
        r = await Client(InThread, timeout=5).get("/")
        assert r.text == "slept in a thread" and r.trace.blocks == (), r.trace.blocks
        print("not reported")
        """,
    )
    assert out.strip() == "not reported" and err == ""


def test_a_blocked_websocket_receive_is_stopped(kernel: Kernel) -> None:
    out = kernel.run(
        """
        class Echo(WebSocketEndpoint):
            encoding = "text"

            async def on_receive(self, websocket, data):
                time.sleep(30)

        try:
            async with Client(Echo, timeout=0.5).websocket_connect("/ws") as ws:
                await ws.send_text("hi")
                await ws.receive_text()
        except EventLoopBlocked as exc:
            print(exc.phase, "|", exc.where)
        print(len(app_tasks()))
        """
    )
    where, tasks = out.splitlines()
    assert re.fullmatch(r"WebSocket receive \| Echo\.on_receive, line \d+: time\.sleep\(30\)", where), where
    assert tasks == "0"


@pytest.mark.parametrize("thread", [False, True], ids=["ticks", "thread"])
def test_a_handler_the_user_installed_is_kept_and_never_called(kernel: Kernel, thread: bool) -> None:
    # ipykernel restores its own handlers after every cell, so a handler of the user's lives in a cell.
    # The thread wakes time.sleep with SIGINT, which runs no handler's body; the ticks send none.
    out = kernel.run(
        f"""
        with_the_thread({thread})
        sigint_calls = []
        def users_handler(signum, frame):
            sigint_calls.append(signum)
        previous = signal.signal(signal.SIGINT, users_handler)
        try:
            await Client(Sleeps, timeout=0.5).get("/?s=30")
        except EventLoopBlocked as exc:
            print(exc.where)
        finally:
            kept = signal.getsignal(signal.SIGINT) is users_handler
            signal.signal(signal.SIGINT, previous)
            with_the_thread(False)
        print(kept, sigint_calls)
        """
    )
    where, kept = out.splitlines()
    assert where.startswith("Sleeps.get, line ") and where.endswith('time.sleep(float(request.query_params["s"]))')
    assert kept == "True []"


def test_with_sigint_ignored_the_ticks_still_stop_it(kernel: Kernel) -> None:
    # The thread needs SIGINT to wake time.sleep; the ticks are a signal of their own.
    out = kernel.run(
        """
        ignored = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            await Client(Sleeps, timeout=0.5).get("/?s=30")
        except EventLoopBlocked as exc:
            error = exc
        finally:
            signal.signal(signal.SIGINT, ignored)
        print(error.stopped, repr(error.uninterruptible), 0.5 <= error.blocked_for < 1.0)
        """
    )
    assert out.strip() == "True '' True", out


def test_a_call_that_cannot_be_woken_is_said_so_and_stopped_when_it_returns(kernel: Kernel) -> None:
    # Nothing wakes os.system(): the cell is told while it runs, and the app is stopped when it returns.
    out, err = run_with_stderr(
        kernel,
        """
        started = time.perf_counter()
        try:
            await Client(RunsAShell, timeout=0.5).get("/")
        except EventLoopBlocked as exc:
            error = exc
        elapsed = time.perf_counter() - started
        assert 2.0 <= elapsed < 3.5 and 1.9 <= error.blocked_for < 2.5, (elapsed, error.blocked_for)
        print(f"block to error: {elapsed:.2f} s (blocked_for {error.blocked_for:.2f} s); {error}")
        """,
    )
    print(f"\n{out.strip()}")
    assert "does not return to Python when interrupted" in out and "stopped it when it returned" in out, out
    assert "the client cannot stop it" in err and "does not return to Python when interrupted" in err, err


def test_the_kernels_own_interrupt_still_works_afterwards(kernel: Kernel) -> None:
    kernel.run("warm = await Client(Sleeps, timeout=0.5).get('/?s=0')")
    kernel.run(
        """
        try:
            await Client(Spins, timeout=0.5).get("/?s=30")
        except EventLoopBlocked:
            pass

        class Stuck(HTTPEndpoint):
            async def get(self, request):
                await asyncio.sleep(600)
        """
    )
    client = kernel.client
    started = time.monotonic()
    # stop_on_error=False: the error must not make the kernel abort the next request, sent at once
    client.execute("await Client(Stuck, timeout=60).get('/')", store_history=False, stop_on_error=False)
    time.sleep(1.0)
    kernel.manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=CELL_TIMEOUT)
    elapsed = time.monotonic() - started
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] in ("CancelledError", "KeyboardInterrupt")
    assert elapsed < 10, elapsed
    assert kernel.run("await asyncio.sleep(0.3); print(len(app_tasks()))").strip() == "0"
