"""The watchdog in this process: a blocked event loop reported, stopped past the timeout, and its limits.

The kernel-side story (ipykernel's handlers, the next cell, Interrupt) is in test_in_kernel_watchdog.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from starlette.responses import PlainTextResponse

from playground import AppTimeout, Client, EventLoopBlocked, EventLoopBlockedWarning, HTTPEndpoint, watchdog
from playground.app_task import AppTask
from playground.display_html import response_html
from playground.display_text import response_text

pytestmark = pytest.mark.timeout(60)


class Sleeps(HTTPEndpoint):
    async def get(self, request):
        time.sleep(float(request.query_params["s"]))
        return PlainTextResponse("slept")


class InThread(HTTPEndpoint):
    def get(self, request):
        time.sleep(0.5)
        return PlainTextResponse("slept in a thread")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_short_block_is_in_the_trace_the_displays_and_one_warning(anyio_backend: str) -> None:
    with pytest.warns(EventLoopBlockedWarning) as warned:
        r = await Client(Sleeps).get("/?s=0.35")
    assert r.status_code == 200
    assert len(warned) == 1
    message = str(warned[0].message)
    assert message.startswith("the app blocked the event loop for 0.")
    assert 'in Sleeps.get, line 26: time.sleep(float(request.query_params["s"]))' in message
    assert warned[0].filename == __file__ and warned[0].lineno == 26  # pointed at the app's line
    (block,) = r.trace.blocks
    assert 0.3 <= block.duration < 0.5, block
    assert block.describe() in response_text(r) and "anyio.to_thread.run_sync" in response_text(r)
    assert "blocked the event loop" in response_html(r)
    assert r.trace.outcome == "returned"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_block_past_the_timeout_is_stopped(anyio_backend: str, app_tasks: list[AppTask]) -> None:
    started = time.perf_counter()
    with pytest.raises(EventLoopBlocked) as info:
        await Client(Sleeps, timeout=0.5).get("/?s=30")
    elapsed = time.perf_counter() - started
    assert isinstance(info.value, AppTimeout) and isinstance(info.value, TimeoutError)
    assert 0.5 <= elapsed < 2.0, elapsed
    assert info.value.where == 'Sleeps.get, line 26: time.sleep(float(request.query_params["s"]))'
    assert info.value.waiting_at[-1].qualname == "Sleeps.get"
    assert info.value.phase == "response start" and info.value.uninterruptible == ""
    (task,) = app_tasks
    assert task.finished and task.stopped and task.trace.outcome == "stopped"
    assert "the client stopped the app" in response_text_of_trace(task)


def response_text_of_trace(task: AppTask) -> str:
    from playground.display_text import trace_text

    return trace_text(task.trace)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_def_handler_blocks_a_worker_thread_not_the_loop(anyio_backend: str) -> None:
    r = await Client(InThread).get("/")
    assert r.text == "slept in a thread" and r.trace.blocks == ()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_no_threshold_no_watchdog(anyio_backend: str, recwarn: pytest.WarningsRecorder) -> None:
    r = await Client(Sleeps, block_threshold=None).get("/?s=0.3")
    assert r.trace.blocks == () and not [w for w in recwarn if w.category is EventLoopBlockedWarning]


def test_the_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="block_threshold must be a positive number"):
        Client(Sleeps, block_threshold=0)
    with pytest.raises(TypeError, match="block_threshold"):
        Client(Sleeps, block_threshold="1")


@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.anyio
async def test_on_trio_there_is_no_watchdog(anyio_backend: str, recwarn: pytest.WarningsRecorder) -> None:
    # trio runs every step from one frame: the watchdog cannot tell one step from the next (documented).
    r = await Client(Sleeps).get("/?s=0.3")
    assert r.trace.blocks == () and not [w for w in recwarn if w.category is EventLoopBlockedWarning]


def test_outside_the_main_thread_it_is_reported_and_said_that_it_cannot_be_stopped(
    capfd: pytest.CaptureFixture[str],
) -> None:
    result: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            with pytest.warns(EventLoopBlockedWarning) as warned:
                result["response"] = await Client(Sleeps, timeout=0.3).get("/?s=1")
            result["warning"] = str(warned[0].message)

        asyncio.run(main())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert result["response"].text == "slept"  # type: ignore[attr-defined]
    assert "the client could not stop it (the event loop does not run in the main thread" in result["warning"]
    err = capfd.readouterr().err
    assert "playground: the app has blocked the event loop for" in err and "cannot stop it" in err


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_the_thread_is_one_and_sleeps_when_nothing_waits(anyio_backend: str) -> None:
    for _ in range(3):
        await Client(Sleeps).get("/?s=0")
    watchers = [t for t in threading.enumerate() if t.name == "playground watchdog"]
    assert len(watchers) == 1 and watchers[0].daemon
    deadline = time.perf_counter() + watchdog.LINGER + 2
    while not watchdog._sleeping and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    assert watchdog._sleeping and not watchdog._waiting
