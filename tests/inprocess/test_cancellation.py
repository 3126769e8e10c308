"""Cancelling the caller: what a kernel interrupt, a cancel scope or ``task.cancel()`` leads to.

The client's waits are cancelled like any other await; the app's task must not outlive them. A request
or a stuck app is cancelled (after the grace period), a WebSocket session is closed with the closing
handshake, and a sync handler stuck in a worker thread holds the caller no longer than the grace.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from apps import Echo
from starlette.responses import PlainTextResponse

from playground import AppTimeout, ASGIProtocolError, Client, HTTPEndpoint, Trace, WebSocketEndpoint
from playground._inprocess import app_task as app_task_module

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

GRACE = 0.2
BOUND = 3.0  # seconds: generous, only "bounded, not hung" is claimed


class Probe:
    """What the app went through: when it got going, what it received, how its call ended."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = anyio.Event()
        self.received: list[dict[str, Any]] = []
        self.outcome = "running"
        self.close_code: int | None = None

    def watch(self, app: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def watched(scope: dict[str, Any], receive: Any, send: Any) -> None:
            self.calls += 1

            async def recording_receive() -> dict[str, Any]:
                message = await receive()
                self.received.append(message)
                return message

            try:
                await app(scope, recording_receive, send)
            except anyio.get_cancelled_exc_class():
                self.outcome = "cancelled"
                raise
            except BaseException as exc:
                self.outcome = f"raised {type(exc).__name__}"
                raise
            self.outcome = "returned"

        return watched


def traced_get(client: Client, traces: list[Trace]) -> Callable[[], Awaitable[Any]]:
    """``client.get("/")``, keeping the request's trace (there as soon as the app is called, even if
    no response comes): its ``outcome`` says how the app's call ended."""
    request = client.build_request("GET", "/")

    async def get() -> Any:
        try:
            return await client.send(request)
        finally:
            traces.append(request.extensions["playground.trace"])

    return get


def read_forever(client: Client, responses: list[Any], chunks: list[bytes]) -> Callable[[], Awaitable[None]]:
    """Stream ``GET /`` and read it to the end (which the test cancels first), keeping the response
    (its trace says how the app's call ended) and the chunks."""

    async def read() -> None:
        async with client.stream("GET", "/") as response:
            responses.append(response)
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)

    return read


def asyncio_tasks(backend: str) -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() if backend == "asyncio" else set()


async def cancel_when_started(probe: Probe, call: Callable[[], Awaitable[Any]]) -> float:
    """Run ``call`` in a task group, cancel the group once the app got going; the seconds it took."""
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await probe.started.wait()
        await anyio.sleep(0.01)  # let the caller reach its wait
        group.cancel_scope.cancel()
    return time.perf_counter() - started


def stuck_http(probe: Probe) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        probe.started.set()
        await anyio.sleep_forever()

    return probe.watch(app)


def endless_stream(probe: Probe) -> Any:
    """An endless body that only ever sends, never reading ``receive()`` again."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # the request
        await send({"type": "http.response.start", "status": 200, "headers": []})
        probe.started.set()
        while True:
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
            await anyio.sleep(0.005)

    return probe.watch(app)


def event_stream(probe: Probe) -> Any:
    """A server-sent-events style app: one event, then it waits for more, or for the client to leave."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # the request
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})
        probe.started.set()
        message = await receive()
        assert message["type"] == "http.disconnect"

    return probe.watch(app)


def quiet_websocket(probe: Probe) -> Any:
    class Quiet(WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            await websocket.accept()
            probe.started.set()

        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            probe.close_code = close_code

    return probe.watch(Quiet)


def never_accepts(probe: Probe) -> Any:
    class Stuck(WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            probe.started.set()
            await anyio.sleep_forever()

    return probe.watch(Stuck)


# -- HTTP ------------------------------------------------------------------------------------------


async def test_cancel_scope_cancels_a_pending_request(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    probe = Probe()
    client = Client(stuck_http(probe), timeout=None, grace=GRACE)  # no timeout: only the cancel ends it
    traces: list[Trace] = []

    elapsed = await cancel_when_started(probe, traced_get(client, traces))

    assert probe.outcome == "cancelled"
    assert elapsed < BOUND
    assert probe.calls == 1 and [trace.outcome for trace in traces] == ["cancelled"]
    assert asyncio_tasks(anyio_backend) == before


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_task_cancel_cancels_a_pending_request() -> None:
    before = asyncio.all_tasks()
    probe = Probe()
    client = Client(stuck_http(probe), timeout=None, grace=GRACE)
    traces: list[Trace] = []

    caller = asyncio.ensure_future(traced_get(client, traces)())
    await probe.started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller

    assert probe.outcome == "cancelled"
    assert probe.calls == 1 and [trace.outcome for trace in traces] == ["cancelled"]
    assert asyncio.all_tasks() == before


async def test_cancelling_a_stream_tells_a_listening_app_that_the_client_left(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    probe = Probe()
    client = Client(event_stream(probe), timeout=None, grace=GRACE)
    chunks: list[bytes] = []
    responses: list[Any] = []

    elapsed = await cancel_when_started(probe, read_forever(client, responses, chunks))

    assert chunks == [b"data: first\n\n"]
    assert probe.received[-1] == {"type": "http.disconnect"}
    assert probe.outcome == "returned"  # it stopped by itself, within the grace, without being cancelled
    assert elapsed < BOUND
    assert probe.calls == 1 and [r.trace.outcome for r in responses] == ["returned"]
    assert asyncio_tasks(anyio_backend) == before


async def test_cancelling_a_stream_stops_an_app_that_only_sends(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    probe = Probe()
    client = Client(endless_stream(probe), timeout=None, grace=GRACE)
    responses: list[Any] = []
    chunks: list[bytes] = []

    elapsed = await cancel_when_started(probe, read_forever(client, responses, chunks))

    # Its next send after the client left raised OSError (ASGI spec 2.4): the app ended.
    assert probe.outcome == "raised ClientDisconnected"
    assert elapsed < BOUND
    assert probe.calls == 1 and [r.trace.outcome for r in responses] == ["raised ClientDisconnected"]
    assert asyncio_tasks(anyio_backend) == before


async def test_cancelling_a_stream_cancels_a_stuck_app_after_the_grace(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    probe = Probe()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        probe.started.set()
        await anyio.sleep_forever()

    client = Client(probe.watch(app), timeout=None, grace=GRACE)
    responses: list[Any] = []
    chunks: list[bytes] = []

    elapsed = await cancel_when_started(probe, read_forever(client, responses, chunks))

    assert probe.outcome == "cancelled"
    assert GRACE <= elapsed < BOUND  # the app had its grace before being cancelled
    assert probe.calls == 1 and [r.trace.outcome for r in responses] == ["cancelled"]
    assert asyncio_tasks(anyio_backend) == before


# -- WebSocket -------------------------------------------------------------------------------------


async def test_cancelling_a_session_closes_it_and_runs_on_disconnect(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    probe = Probe()
    client = Client(quiet_websocket(probe), timeout=None, grace=GRACE)
    sessions: list[Any] = []

    async def wait_for_a_message() -> None:
        async with client.websocket_connect("/") as ws:
            sessions.append(ws)
            await ws.receive_text()

    elapsed = await cancel_when_started(probe, wait_for_a_message)

    assert probe.received[-1]["type"] == "websocket.disconnect"
    assert probe.close_code is not None  # on_disconnect ran to its end, not cancelled mid-hook
    assert probe.outcome == "returned"
    assert sessions[0].closed and sessions[0].closed_by == "client"
    assert elapsed < BOUND
    assert probe.calls == 1 and sessions[0].trace.outcome == "returned"
    assert asyncio_tasks(anyio_backend) == before


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_task_cancel_closes_a_session() -> None:
    before = asyncio.all_tasks()
    probe = Probe()
    client = Client(quiet_websocket(probe), timeout=None, grace=GRACE)
    sessions: list[Any] = []

    async def wait_for_a_message() -> None:
        async with client.websocket_connect("/") as ws:
            sessions.append(ws)
            await ws.receive_text()

    caller = asyncio.ensure_future(wait_for_a_message())
    await probe.started.wait()
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller

    assert probe.received[-1]["type"] == "websocket.disconnect"
    assert probe.outcome == "returned"
    assert probe.calls == 1 and sessions[0].trace.outcome == "returned"
    assert asyncio.all_tasks() == before


async def test_cancelling_a_connect_cancels_an_app_that_never_accepts(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    probe = Probe()
    client = Client(never_accepts(probe), timeout=None, grace=GRACE)
    sessions: list[Any] = []

    async def connect() -> None:
        session = client.websocket_connect("/")
        sessions.append(session)
        async with session:
            pass

    elapsed = await cancel_when_started(probe, connect)

    assert probe.outcome == "cancelled"
    assert elapsed < BOUND
    assert probe.calls == 1 and sessions[0].trace.outcome == "cancelled"
    assert asyncio_tasks(anyio_backend) == before


async def test_interrupting_a_receive_on_an_open_session_keeps_it_usable() -> None:
    """A session kept across cells: an interrupted receive() is just an interrupted wait."""

    client = Client(Echo, timeout=None, grace=GRACE)
    ws = await client.websocket_connect("/")
    with anyio.move_on_after(0.05) as scope:
        await ws.receive_text()
    assert scope.cancelled_caught
    assert not ws.closed

    await ws.send_text("hi")
    assert await ws.receive_text(timeout=2) == "echo: hi"
    await ws.close()
    assert ws.close_code == 1000
    assert ws.trace.outcome == "returned"  # the app's call has ended


# -- the app's task cancelled by something else ------------------------------------------------------
# A cell that cancels every task, or the loop shutting down: not the client's doing, so not a timeout.


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_app_task_cancelled_before_its_first_step_ends_the_connect_at_once() -> None:
    probe = Probe()
    client = Client(quiet_websocket(probe), timeout=10, grace=GRACE)
    before = asyncio.all_tasks()

    def cancel_the_app() -> None:  # queued before the app's first step, so it runs first
        for task in asyncio.all_tasks() - before:
            task.cancel()

    asyncio.get_running_loop().call_soon(cancel_the_app)
    started = time.perf_counter()
    with pytest.raises(ASGIProtocolError, match="task was cancelled, not by the client, without accepting"):
        await client.websocket_connect("/")

    assert time.perf_counter() - started < BOUND  # not the 10 s timeout
    assert probe.calls == 0  # the app never ran a line
    (session,) = client.history
    assert session.trace.outcome == "cancelled"
    # Private, as nothing public shows it: the registry that keeps running calls referenced kept
    # nothing for the task that never ran.
    assert app_task_module._running == {}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_app_task_cancelled_mid_request_is_reported_as_cancelled() -> None:
    probe = Probe()
    client = Client(stuck_http(probe), timeout=10, grace=GRACE)
    traces: list[Trace] = []
    before = asyncio.all_tasks()
    request = asyncio.ensure_future(traced_get(client, traces)())
    await probe.started.wait()
    for task in asyncio.all_tasks() - before - {request}:
        task.cancel()  # as a cell that cancels every task would, sparing the caller

    with pytest.raises(ASGIProtocolError, match="task was cancelled, not by the client, without sending"):
        await request

    assert probe.outcome == "cancelled"
    assert [trace.outcome for trace in traces] == ["cancelled"]
    assert app_task_module._running == {}  # private, as above


# -- a sync handler stuck in its worker thread ------------------------------------------------------


def blocking_endpoint(release: threading.Event, entered: threading.Event, left: threading.Event) -> Any:
    class Blocking(HTTPEndpoint):
        def get(self, request: Any) -> Any:
            entered.set()
            release.wait(10)  # bounded, so the thread ends even if the test fails
            left.set()
            return PlainTextResponse("late")

    return Blocking


async def release_and_wait(release: threading.Event, left: threading.Event, traces: list[Trace]) -> None:
    """Let the thread go: it must end, and the app's call with it (asyncio has let it go already)."""
    release.set()
    assert await anyio.to_thread.run_sync(left.wait, 5), "the worker thread did not end"
    deadline = anyio.current_time() + 5
    while any(trace.outcome == "running" for trace in traces) and anyio.current_time() < deadline:
        await anyio.sleep(0.01)
    assert all(trace.outcome != "running" for trace in traces), "the app's call did not end after its thread returned"


async def test_a_sync_handler_stuck_in_a_thread_times_out_in_bounded_time(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    release, entered, left = threading.Event(), threading.Event(), threading.Event()
    client = Client(blocking_endpoint(release, entered, left), timeout=0.3, grace=GRACE)
    traces: list[Trace] = []
    started = time.perf_counter()
    try:
        with pytest.raises(AppTimeout) as info:
            await traced_get(client, traces)()
        elapsed = time.perf_counter() - started
        assert entered.is_set() and not left.is_set()  # the caller is back while the thread still blocks
        assert info.value.phase == "response start"
        assert elapsed < BOUND  # a thread cannot be cancelled: the caller stops waiting after the grace
    finally:
        await release_and_wait(release, left, traces)
    assert len(traces) == 1
    assert asyncio_tasks(anyio_backend) == before


async def test_cancelling_a_request_to_a_stuck_sync_handler_returns_after_the_grace(anyio_backend: str) -> None:
    before = asyncio_tasks(anyio_backend)
    release, entered, left = threading.Event(), threading.Event(), threading.Event()
    client = Client(blocking_endpoint(release, entered, left), timeout=None, grace=GRACE)
    traces: list[Trace] = []
    try:
        started = time.perf_counter()
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(traced_get(client, traces))
                while not entered.is_set():
                    await anyio.sleep(0.01)
                scope.cancel()
        elapsed = time.perf_counter() - started
        assert not left.is_set()
        assert elapsed < BOUND
    finally:
        await release_and_wait(release, left, traces)
    assert len(traces) == 1
    assert asyncio_tasks(anyio_backend) == before
