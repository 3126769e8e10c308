"""The watchdog in this process: a blocked event loop reported, stopped past the timeout, and its limits.

Two ways of looking are tested here: the main thread's ticks (the loop in the main thread, on Linux)
and the watching thread (everywhere else); the ``sampler`` fixture runs a test with each. The
kernel-side story (ipykernel's handlers, the next cell, Interrupt) is in test_in_kernel_watchdog.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse

from playground import AppTimeout, Client, EventLoopBlocked, EventLoopBlockedWarning, HTTPEndpoint
from playground._inprocess import watchdog
from playground.display.html import response_html
from playground.display.text import response_text, trace_text
from playground.errors import Frame

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]
SOURCE = Path(__file__).read_text(encoding="utf-8").splitlines()


class Sleeps(HTTPEndpoint):
    async def get(self, request):
        time.sleep(float(request.query_params["s"]))
        return PlainTextResponse("slept")


LINE = SOURCE.index('        time.sleep(float(request.query_params["s"]))') + 1


class Spins(HTTPEndpoint):
    async def get(self, request):
        end = time.perf_counter() + float(request.query_params["s"])
        while time.perf_counter() < end:
            pass
        return PlainTextResponse("spun")


class RunsAShell(HTTPEndpoint):
    async def get(self, request):
        # C's system() waits for the child again when a signal interrupts it: no Python code runs meanwhile.
        os.system(f"sleep {float(request.query_params['s'])}")
        return PlainTextResponse("ran")


TICKS = sys.platform.startswith("linux")


@pytest.fixture(params=["ticks", "thread"])
def sampler(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which looks: the main thread's ticks, or the watching thread (as on systems without the timer)."""
    if request.param == "ticks":
        if not TICKS:
            pytest.skip(f"the main thread's ticks are Linux's POSIX timers; this is {sys.platform}")
        assert not watchdog._ticks_unavailable, watchdog._ticks_unavailable
    else:
        monkeypatch.setattr(watchdog, "_ticks_unavailable", "the test asks for the thread")
    return str(request.param)


class InThread(HTTPEndpoint):
    def get(self, request):
        time.sleep(0.5)
        return PlainTextResponse("slept in a thread")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_short_block_is_in_the_trace_the_displays_and_one_warning(sampler: str) -> None:
    with pytest.warns(EventLoopBlockedWarning) as warned:
        r = await Client(Sleeps).get("/?s=0.35")
    assert r.status_code == 200
    assert len(warned) == 1
    message = str(warned[0].message)
    assert message.startswith("the app blocked the event loop for 0.")
    assert f'in Sleeps.get, line {LINE}: time.sleep(float(request.query_params["s"]))' in message
    assert warned[0].filename == __file__ and warned[0].lineno == LINE  # pointed at the app's line
    (block,) = r.trace.blocks
    assert 0.3 <= block.duration < 0.5, block
    assert block.describe() in response_text(r) and "anyio.to_thread.run_sync" in response_text(r)
    assert "blocked the event loop" in response_html(r)
    assert r.trace.outcome == "returned"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_block_past_the_timeout_is_stopped(sampler: str) -> None:
    client = Client(Sleeps, timeout=0.5)
    request = client.build_request("GET", "/?s=30")
    started = time.perf_counter()
    with pytest.raises(EventLoopBlocked) as info:
        await client.send(request)
    elapsed = time.perf_counter() - started
    assert isinstance(info.value, AppTimeout) and isinstance(info.value, TimeoutError)
    assert 0.45 <= elapsed < 2.0, elapsed  # timed by looks 50 ms apart
    assert info.value.where == f'Sleeps.get, line {LINE}: time.sleep(float(request.query_params["s"]))'
    assert info.value.waiting_at[-1].qualname == "Sleeps.get"
    assert info.value.phase == "response start" and info.value.uninterruptible == ""
    trace = request.extensions["playground.trace"]  # there even though no response came
    assert trace.outcome == "stopped"
    assert "the client stopped the app" in trace_text(trace)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_def_handler_blocks_a_worker_thread_not_the_loop() -> None:
    r = await Client(InThread).get("/")
    assert r.text == "slept in a thread" and r.trace.blocks == ()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_no_threshold_no_watchdog(recwarn: pytest.WarningsRecorder) -> None:
    r = await Client(Sleeps, block_threshold=None).get("/?s=0.3")
    assert r.trace.blocks == () and not [w for w in recwarn if w.category is EventLoopBlockedWarning]


def test_the_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="block_threshold must be a positive number"):
        Client(Sleeps, block_threshold=0)
    with pytest.raises(TypeError, match="block_threshold"):
        Client(Sleeps, block_threshold="1")


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_there_is_no_watchdog(recwarn: pytest.WarningsRecorder) -> None:
    # trio runs every step from one frame: the watchdog cannot tell one step from the next (documented).
    r = await Client(Sleeps).get("/?s=0.3")
    assert r.trace.blocks == () and not [w for w in recwarn if w.category is EventLoopBlockedWarning]


def test_outside_the_main_thread_it_is_reported_and_said_that_it_cannot_be_stopped(
    capfd: pytest.CaptureFixture[str],
) -> None:
    result: dict[str, BaseException] = {}

    def run() -> None:
        async def main() -> None:
            try:
                await Client(Sleeps, timeout=0.3).get("/?s=1")
            except EventLoopBlocked as exc:
                result["error"] = exc

        asyncio.run(main())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    error = result["error"]
    assert isinstance(error, EventLoopBlocked) and not error.stopped
    assert 0.9 <= error.blocked_for < 1.3, error.blocked_for
    assert "the client could not stop it (the event loop does not run in the main thread" in str(error)
    assert "and it ended by itself" in str(error)
    err = capfd.readouterr().err  # said at once, while the loop was still blocked
    assert "playground: the app has blocked the event loop for" in err and "cannot stop it" in err


@pytest.fixture
def no_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in Pyodide: starting a thread fails, so the loop's own timer (late after a block) times it."""
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(watchdog, "_thread", None)
    monkeypatch.setattr(watchdog, "_unavailable", "")
    monkeypatch.setattr(watchdog, "_ticks_unavailable", "as in Pyodide: no signals")
    monkeypatch.setattr(threading.Thread, "start", refuse)
    monkeypatch.setattr(watchdog, "_look_at", lambda *args: None)  # a thread started earlier looks away
    watchdog._sleeping = True
    yield
    watchdog._sleeping = True  # not restored: the real thread may have gone to sleep meanwhile


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_where_no_thread_can_start_the_loop_times_itself(no_threads: None) -> None:
    await _without_a_thread()


class _PlainHandle:
    """A timer that does not say when it is due, as Pyodide's WebLoop gives back (a plain Handle)."""

    def __init__(self, timer: asyncio.TimerHandle) -> None:
        self._timer = timer

    def cancel(self) -> None:
        self._timer.cancel()

    def cancelled(self) -> bool:
        return self._timer.cancelled()


class PlainHandleLoop(asyncio.SelectorEventLoop):
    def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def, override]
        return _PlainHandle(super().call_at(when, callback, *args, context=context))


def test_where_no_thread_can_start_a_loop_whose_timers_do_not_say_when_times_itself(
    no_threads: None,
) -> None:
    loop = PlainHandleLoop()
    try:
        loop.run_until_complete(_without_a_thread())
    finally:
        loop.close()


async def _without_a_thread() -> None:
    with pytest.warns(EventLoopBlockedWarning, match=r"for 0\.[345] s \(no watchdog thread can run here"):
        r = await Client(Sleeps).get("/?s=0.4")
    assert r.status_code == 200 and len(r.trace.blocks) == 1
    with pytest.raises(EventLoopBlocked, match=r"past the client's timeout of 0\.3 s") as info:
        await Client(Sleeps, timeout=0.3).get("/?s=0.8")
    assert not info.value.stopped and "can neither see where the app is nor stop it" in str(info.value)
    assert 0.7 <= info.value.blocked_for < 1.0, info.value.blocked_for
    assert watchdog.unavailable().startswith("no watchdog thread can run here")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_thread_is_one_and_sleeps_when_nothing_waits(sampler: str) -> None:
    for _ in range(3):
        await Client(Sleeps).get("/?s=0")
    watchers = [t for t in threading.enumerate() if t.name == "playground watchdog"]
    assert len(watchers) == 1 and watchers[0].daemon
    deadline = time.perf_counter() + watchdog.LINGER + 2
    # Private, as nothing public shows it: whether the thread has gone to sleep (it stays alive).
    while not watchdog._sleeping and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    assert watchdog._sleeping and not watchdog._waiting


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_spinning_loop_is_stopped_too(sampler: str) -> None:
    with pytest.raises(EventLoopBlocked) as info:
        await Client(Spins, timeout=0.4).get("/?s=30")
    assert info.value.where.startswith("Spins.get, line ") and "while time.perf_counter() < end:" in info.value.where
    assert info.value.stopped and info.value.uninterruptible == ""
    assert 0.4 <= info.value.blocked_for < 1.5, info.value.blocked_for


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_call_that_no_signal_ends_is_said_so_and_stopped_when_it_returns(
    sampler: str, capfd: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    with pytest.raises(EventLoopBlocked) as info:
        await Client(RunsAShell, timeout=0.3).get("/?s=1.5")
    elapsed = time.perf_counter() - started
    error = info.value
    assert 1.5 <= elapsed < 3.0 and 1.4 <= error.blocked_for < 2.5, (elapsed, error.blocked_for)
    assert error.stopped and error.uninterruptible == watchdog.CANNOT_WAKE, error.uninterruptible
    assert "could not stop it in time" in str(error) and "stopped it when it returned" in str(error)
    assert error.where.startswith("RunsAShell.get, line ") and "os.system(" in error.where
    err = capfd.readouterr().err  # said while the call still ran, by the thread
    assert "playground: the app has blocked the event loop for" in err and watchdog.CANNOT_WAKE in err, err


@pytest.mark.skipif(not TICKS, reason="the main thread's ticks are Linux's POSIX timers")
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_ticks_stop_a_sleep_even_with_sigint_ignored() -> None:
    # The thread would need SIGINT to wake time.sleep; the ticks are signals of their own.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(EventLoopBlocked) as info:
            await Client(Sleeps, timeout=0.3).get("/?s=30")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert info.value.stopped and info.value.uninterruptible == ""
    assert 0.3 <= info.value.blocked_for < 1.0, info.value.blocked_for


@pytest.mark.skipif(not TICKS, reason="the main thread's ticks are Linux's POSIX timers")
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_ticks_stop_when_nothing_waits_and_leave_sigurg_as_found_otherwise() -> None:
    await Client(Sleeps).get("/?s=0")
    assert signal.getsignal(signal.SIGURG) is watchdog._on_tick
    deadline = time.perf_counter() + watchdog.LINGER + 2
    # Private, as nothing public shows it: whether the timer still runs.
    while watchdog._ticking and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    assert not watchdog._ticking


@pytest.mark.skipif(not TICKS, reason="the main thread's ticks are Linux's POSIX timers")
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_ticks_keep_nothing_of_a_wait_that_ended() -> None:
    # Requests one after the other, each app step 2 ms, for long enough that many ticks land inside one.
    client = Client(Spins)
    started = time.perf_counter()
    while time.perf_counter() - started < 0.6:
        await client.get("/?s=0.002")
    await asyncio.sleep(2 * watchdog.SAMPLE_EVERY)  # a tick or two more, the ticks still running
    assert watchdog._ticking
    # Private, as nothing public shows it: what the ticks hold (each would keep a finished call alive).
    assert not watchdog._seen_by_ticks and not watchdog._ticked_blocks and not watchdog._ticked


@pytest.mark.skipif(not TICKS, reason="the main thread's ticks are Linux's POSIX timers")
def test_the_ticks_stop_at_once_when_the_loop_is_gone() -> None:
    # What runs next on the main thread gets no signals: trio's run, say, leaves its signal wakeup fd on
    # a closed socket for a moment as it ends, and a signal then is an error ("Bad file descriptor").
    asyncio.run(Client(Sleeps).get("/?s=0"))
    # Private, as nothing public shows it: whether the timer still runs (not a tick later either).
    assert not watchdog._ticking
    loop = asyncio.new_event_loop()  # closed without closing its async generators: the next tick
    loop.run_until_complete(Client(Sleeps).get("/?s=0"))
    loop.close()
    deadline = time.perf_counter() + 3 * watchdog.SAMPLE_EVERY  # well before TICKS_LINGER
    while watchdog._ticking and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert not watchdog._ticking


def test_a_sigurg_handler_of_another_is_kept_and_the_thread_looks_instead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def theirs(signum: int, frame: object) -> None:
        pass

    monkeypatch.setattr(watchdog, "_ticks_unavailable", "")
    monkeypatch.setattr(watchdog, "_ticking", False)
    previous = signal.signal(signal.SIGURG, theirs)
    try:
        with pytest.warns(EventLoopBlockedWarning):
            asyncio.run(Client(Sleeps).get("/?s=0.3"))
        assert signal.getsignal(signal.SIGURG) is theirs
        assert "SIGURG has a handler of its own here" in watchdog._ticks_unavailable
    finally:
        signal.signal(signal.SIGURG, previous)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_threshold_above_the_timeout_still_stops_at_the_timeout(sampler: str) -> None:
    started = time.perf_counter()
    with pytest.raises(EventLoopBlocked):
        await Client(Sleeps, timeout=0.4, block_threshold=10).get("/?s=30")
    assert time.perf_counter() - started < 2.0


def test_the_line_named_is_the_apps_not_the_packages() -> None:
    """Frames in any of playground's modules (endpoints.py, its private packages) are machinery."""
    import playground.endpoints

    app = Frame("Slow.get", "/home/learner/notebook.py", 3, "time.sleep(1)")
    machinery = [Frame("HTTPEndpoint.dispatch", playground.endpoints.__file__, 130, "await handler(request)"),
                 Frame("AppTask._run", watchdog.__file__, 120, "await self.app(...)")]
    assert watchdog.user_frame([app, *machinery]) == app
    assert watchdog.user_frame([*machinery, app]) == app
