"""The fault matrix: every way an app can break the protocol, hang or crash, and what the caller sees.

Each row is an app, a way to drive it, and the error expected: a named one (``ASGIProtocolError``,
``AppTimeout`` naming the phase, ``LifespanError``) or the app's own exception, raised as itself with
the app's frame in its traceback. Every row must end within a bounded time and leave nothing running.
``tools/fault_table.py`` runs the same rows to write ``docs/faults.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import playground
from playground import (
    AppTimeout,
    ASGIProtocolError,
    Client,
    HTTPEndpoint,
    LifespanError,
    WebSocketEndpoint,
)
from playground._inprocess.app_task import AppTask

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

TIMEOUT = 0.3
GRACE = 0.2
# Generous: a fault must end in about timeout + grace, never hang; the margin absorbs a busy machine.
ELAPSED_BOUND = 3.0


class Boom(Exception):
    """The app's own error."""


# -- apps ----------------------------------------------------------------------------------------------
# Raw ASGI apps where the fault is in the protocol itself, endpoint classes where it is in user code.


def returns_without_response() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()

    return app


def body_before_start() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.body", "body": b"hello"})

    return app


def start_twice() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.start", "status": 200, "headers": []})

    return app


def send_after_complete() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        await send({"type": "http.response.body", "body": b"one more"})

    return app


def unknown_http_message() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.begin", "status": 200})

    return app


def returns_mid_body() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})

    return app


def ws_send_before_accept() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "too early"})

    return app


def ws_accept_twice() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.accept"})

    return app


def ws_unknown_message() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.message", "text": "hi"})

    return app


def ws_returns_without_accept() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()

    return app


def hang_before_start() -> Any:
    class Stuck(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            await anyio.sleep_forever()

    return Stuck


def hang_mid_body() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await anyio.sleep_forever()

    return app


def hang_in_background_task() -> Any:
    async def forever() -> None:
        await anyio.sleep_forever()

    class Slow(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("sent", background=BackgroundTask(forever))

    return Slow


def hang_before_accept() -> Any:
    class Stuck(WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            await anyio.sleep_forever()

    return Stuck


def hang_elsewhere_after_accept() -> Any:
    class Busy(WebSocketEndpoint):
        async def on_receive(self, websocket: Any, data: Any) -> None:
            await anyio.sleep_forever()

    return Busy


def hang_in_on_disconnect() -> Any:
    class Lingering(WebSocketEndpoint):
        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            await anyio.sleep_forever()

    return Lingering


def idle_in_receive() -> Any:
    class Quiet(WebSocketEndpoint):
        pass

    return Quiet


def lifespan_app(*, startup: str = "ok", shutdown: str = "ok") -> Any:
    """A raw lifespan handler: each step completes, hangs or raises, as asked."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        if startup == "hang":
            await anyio.sleep_forever()
        if startup == "raise":
            raise Boom("boom in lifespan startup")
        await send({"type": "lifespan.startup.complete"})
        await receive()
        if shutdown == "hang":
            await anyio.sleep_forever()
        if shutdown == "raise":
            raise Boom("boom in lifespan shutdown")
        await send({"type": "lifespan.shutdown.complete"})

    return app


def starlette_lifespan(*, fail_at: str) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if fail_at == "startup":
            raise Boom("boom in lifespan startup")
        yield
        raise Boom("boom in lifespan shutdown")

    return Starlette(routes=[], lifespan=lifespan)


def crash_in_handler() -> Any:
    class Broken(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            raise Boom("boom in get")

    return Broken


def not_async() -> Any:
    def app(scope: dict[str, Any], receive: Any, send: Any) -> None:  # forgot ``async``
        pass

    return app


def crash_in_sync_handler() -> Any:
    class Broken(HTTPEndpoint):
        def get(self, request: Any) -> Any:
            raise Boom("boom in a sync get")

    return Broken


def crash_in_starlette_route() -> Any:
    async def homepage(request: Any) -> Any:
        raise Boom("boom in a route")

    return Starlette(routes=[Route("/", homepage)])


def crash_in_background_task() -> Any:
    async def fail() -> None:
        raise Boom("boom in a background task")

    class Later(HTTPEndpoint):
        async def get(self, request: Any) -> Any:
            return PlainTextResponse("sent", background=BackgroundTask(fail))

    return Later


def crash_in_on_connect() -> Any:
    class Broken(WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            raise Boom("boom in on_connect")

    return Broken


def crash_in_on_receive() -> Any:
    class Broken(WebSocketEndpoint):
        async def on_receive(self, websocket: Any, data: Any) -> None:
            raise Boom("boom in on_receive")

    return Broken


def crash_in_on_disconnect() -> Any:
    class Broken(WebSocketEndpoint):
        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            raise Boom("boom in on_disconnect")

    return Broken


# -- ways to drive an app --------------------------------------------------------------------------


async def http_get(client: Client) -> None:
    await client.get("/")


async def http_stream(client: Client) -> None:
    async with client.stream("GET", "/") as response:
        await response.aread()


async def ws_connect(client: Client) -> None:
    async with client.websocket_connect("/"):
        pass


async def ws_receive(client: Client) -> None:
    async with client.websocket_connect("/") as ws:
        await ws.receive_text()


async def ws_send_then_receive(client: Client) -> None:
    async with client.websocket_connect("/") as ws:
        await ws.send_text("hello")
        await ws.receive_text()


async def lifespan_run(client: Client) -> None:
    async with client:
        pass


Drive = Callable[[Client], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    id: str
    kind: str  # "protocol", "hang" or "crash": the doc's grouping
    stage: str  # where in the exchange the fault happens
    description: str
    app: Callable[[], Any]
    drive: Drive
    error: type[BaseException]
    fragment: str  # part of the message as printed
    phase: str | None = None  # AppTimeout.phase
    frame: str | None = None  # a function of the app that must be in the traceback
    cause: type[BaseException] | None = None  # the app's exception, chained as ``__cause__``
    options: dict[str, Any] = field(default_factory=dict)


FAULTS = [
    # protocol mistakes
    Fault("http-returns-without-response", "protocol", "response start",
          "returns without sending a response",
          returns_without_response, http_get, ASGIProtocolError,
          "the app returned without sending 'http.response.start'"),
    Fault("http-stream-returns-without-response", "protocol", "response start",
          "returns without a response (stream)",
          returns_without_response, http_stream, ASGIProtocolError,
          "the app returned without sending 'http.response.start'"),
    Fault("http-body-before-start", "protocol", "response start",
          "sends the body before the start",
          body_before_start, http_get, ASGIProtocolError,
          "the app sent 'http.response.body' before 'http.response.start'", frame="app"),
    Fault("http-start-twice", "protocol", "response start",
          "sends 'http.response.start' twice",
          start_twice, http_get, ASGIProtocolError, "the app sent 'http.response.start' twice", frame="app"),
    Fault("http-send-after-complete", "protocol", "after the response",
          "sends after the response is complete",
          send_after_complete, http_get, ASGIProtocolError,
          "the app sent 'http.response.body' after the response was complete", frame="app"),
    Fault("http-unknown-message", "protocol", "response start",
          "sends a message of an unknown type",
          unknown_http_message, http_get, ASGIProtocolError,
          "which is not an HTTP message; expected one of http.response.body", frame="app"),
    Fault("http-returns-mid-body", "protocol", "response body",
          "returns after more_body=True",
          returns_mid_body, http_get, ASGIProtocolError,
          "the app returned before the response body was complete (more_body=True)"),
    Fault("http-stream-returns-mid-body", "protocol", "response body",
          "returns after more_body=True (stream)",
          returns_mid_body, http_stream, ASGIProtocolError,
          "the app returned before the response body was complete (more_body=True)"),
    Fault("ws-send-before-accept", "protocol", "WebSocket accept",
          "WebSocket: sends before accepting",
          ws_send_before_accept, ws_connect, ASGIProtocolError,
          "the app sent 'websocket.send' before 'websocket.accept'", frame="app"),
    Fault("ws-accept-twice", "protocol", "WebSocket receive",
          "WebSocket: accepts twice",
          ws_accept_twice, ws_receive, ASGIProtocolError, "the app sent 'websocket.accept' twice",
          frame="app"),
    Fault("ws-unknown-message", "protocol", "WebSocket receive",
          "WebSocket: sends a message of an unknown type",
          ws_unknown_message, ws_receive, ASGIProtocolError,
          "which is not a WebSocket message; expected websocket.accept", frame="app"),
    Fault("ws-returns-without-accept", "protocol", "WebSocket accept",
          "WebSocket: returns without accepting or closing",
          ws_returns_without_accept, ws_connect, ASGIProtocolError,
          "the app returned without accepting or closing the WebSocket"),
    # hangs
    Fault("hang-before-start", "hang", "response start",
          "never starts the response",
          hang_before_start, http_get, AppTimeout,
          "waiting for the app: response start; the app was waiting in", phase="response start"),
    Fault("hang-before-start-stream", "hang", "response start",
          "never starts the response (stream)",
          hang_before_start, http_stream, AppTimeout,
          "waiting for the app: response start; the app was waiting in", phase="response start"),
    Fault("hang-mid-body", "hang", "response body",
          "stops in the middle of the body",
          hang_mid_body, http_get, AppTimeout,
          "waiting for the app: response body; the app was waiting in", phase="response body"),
    Fault("hang-mid-body-stream", "hang", "response body",
          "stops in the middle of the body (stream)",
          hang_mid_body, http_stream, AppTimeout,
          "waiting for the app: response body; the app was waiting in", phase="response body"),
    Fault("hang-after-response", "hang", "after the response",
          "a background task that never ends",
          hang_in_background_task, http_get, AppTimeout,
          "waiting for the app: app to return after the response; "
          "the app was waiting in hang_in_background_task.<locals>.forever",
          phase="app to return after the response"),
    Fault("hang-before-accept", "hang", "WebSocket accept",
          "WebSocket: never accepts",
          hang_before_accept, ws_connect, AppTimeout,
          "waiting for the app: WebSocket accept; the app was waiting in", phase="WebSocket accept"),
    Fault("hang-ws-stuck-elsewhere", "hang", "WebSocket receive",
          "WebSocket: stuck in on_receive while the client waits",
          hang_elsewhere_after_accept, ws_send_then_receive, AppTimeout,
          "waiting for the app: WebSocket receive; the app was waiting in", phase="WebSocket receive"),
    Fault("hang-ws-idle-in-receive", "hang", "WebSocket receive",
          "WebSocket: idle in receive(), nothing to say",
          idle_in_receive, ws_receive, AppTimeout,
          "the app sent nothing and is waiting in receive() for the client; the session is still open",
          phase="WebSocket receive"),
    Fault("hang-on-disconnect", "hang", "WebSocket close",
          "WebSocket: on_disconnect never returns after the client closes",
          hang_in_on_disconnect, ws_connect, AppTimeout,
          "waiting for the app: app to finish after the client closed the WebSocket; the app was waiting in",
          phase="app to finish after the client closed the WebSocket"),
    Fault("hang-lifespan-startup", "hang", "lifespan startup",
          "lifespan startup never completes",
          lambda: lifespan_app(startup="hang"), lifespan_run, AppTimeout,
          "waiting for the app: lifespan startup; the app was waiting in", phase="lifespan startup"),
    Fault("hang-lifespan-shutdown", "hang", "lifespan shutdown",
          "lifespan shutdown never completes",
          lambda: lifespan_app(shutdown="hang"), lifespan_run, AppTimeout,
          "waiting for the app: lifespan shutdown; the app was waiting in", phase="lifespan shutdown"),
    # crashes
    Fault("crash-http-handler", "crash", "response start",
          "an HTTP handler raises",
          crash_in_handler, http_get, Boom, "boom in get", frame="get"),
    Fault("crash-http-handler-stream", "crash", "response start",
          "an HTTP handler raises (stream)",
          crash_in_handler, http_stream, Boom, "boom in get", frame="get"),
    Fault("crash-sync-handler", "crash", "response start",
          "a sync HTTP handler raises in its worker thread",
          crash_in_sync_handler, http_get, Boom, "boom in a sync get", frame="get"),
    Fault("crash-starlette-route", "crash", "response start",
          "a route in a Starlette app raises",
          crash_in_starlette_route, http_get, Boom, "boom in a route", frame="homepage"),
    Fault("crash-not-async", "crash", "response start",
          "the app is a plain function, not async",
          not_async, http_get, TypeError,
          "app(scope, receive, send) did not return an awaitable (object NoneType can't be used in 'await' "
          "expression): an ASGI app is an 'async def' function"),
    Fault("crash-background-task", "crash", "after the response",
          "a background task raises after the response",
          crash_in_background_task, http_get, Boom, "boom in a background task", frame="fail"),
    Fault("crash-on-connect", "crash", "WebSocket accept",
          "WebSocket: on_connect raises",
          crash_in_on_connect, ws_connect, Boom, "boom in on_connect", frame="on_connect"),
    Fault("crash-on-receive", "crash", "WebSocket receive",
          "WebSocket: on_receive raises",
          crash_in_on_receive, ws_send_then_receive, Boom, "boom in on_receive", frame="on_receive"),
    Fault("crash-on-disconnect", "crash", "WebSocket close",
          "WebSocket: on_disconnect raises when the client closes",
          crash_in_on_disconnect, ws_connect, Boom, "boom in on_disconnect", frame="on_disconnect"),
    Fault("crash-lifespan-startup", "crash", "lifespan startup",
          "lifespan startup raises (Starlette lifespan)",
          lambda: starlette_lifespan(fail_at="startup"), lifespan_run, LifespanError,
          "lifespan startup failed: Boom('boom in lifespan startup')", cause=Boom),
    Fault("crash-lifespan-shutdown", "crash", "lifespan shutdown",
          "lifespan shutdown raises (Starlette lifespan)",
          lambda: starlette_lifespan(fail_at="shutdown"), lifespan_run, LifespanError,
          "lifespan shutdown failed: Boom('boom in lifespan shutdown')", cause=Boom),
    Fault("crash-raw-lifespan-startup", "crash", "lifespan startup",
          "lifespan startup raises (raw ASGI app)",
          lambda: lifespan_app(startup="raise"), lifespan_run, LifespanError,
          "lifespan startup failed: the app raised Boom('boom in lifespan startup')", cause=Boom),
    Fault("crash-raw-lifespan-shutdown", "crash", "lifespan shutdown",
          "lifespan shutdown raises (raw ASGI app)",
          lambda: lifespan_app(shutdown="raise"), lifespan_run, LifespanError,
          "the app's lifespan ended without 'lifespan.shutdown.complete': it raised Boom(", cause=Boom),
]


# -- the harness ------------------------------------------------------------------------------------


def running_tasks(backend: str) -> set[asyncio.Task[Any]]:
    """The asyncio tasks alive now; on trio, the app tasks' ``finished`` flags say the same."""
    return asyncio.all_tasks() if backend == "asyncio" else set()


def innermost_functions(exc: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


async def run_fault(fault: Fault) -> tuple[BaseException | None, float]:
    """Drive the fault's app once; the error it raised and the seconds it took."""
    client = Client(fault.app(), timeout=TIMEOUT, grace=GRACE, **fault.options)
    started = time.perf_counter()
    try:
        await fault.drive(client)
    except Exception as exc:
        return exc, time.perf_counter() - started
    return None, time.perf_counter() - started


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.id for fault in FAULTS])
async def test_fault(fault: Fault, anyio_backend: str, app_tasks: list[AppTask]) -> None:
    before = running_tasks(anyio_backend)

    error, elapsed = await run_fault(fault)

    assert error is not None, f"{fault.id}: no error raised"
    assert not isinstance(error, BaseExceptionGroup), f"{fault.id}: got an exception group {error!r}"
    assert isinstance(error, fault.error), f"{fault.id}: expected {fault.error.__name__}, got {error!r}"
    assert fault.fragment in str(error), f"{fault.id}: {str(error)!r} lacks {fault.fragment!r}"
    if fault.phase is not None:
        assert isinstance(error, TimeoutError)
        assert error.phase == fault.phase  # type: ignore[attr-defined]
        assert error.timeout == TIMEOUT  # type: ignore[attr-defined]
    if fault.frame is not None:
        assert fault.frame in innermost_functions(error), f"{fault.id}: the app's frame is missing"
    if fault.cause is not None:
        assert isinstance(error.__cause__, fault.cause), f"{fault.id}: cause {error.__cause__!r}"
        assert "lifespan" in innermost_functions(error.__cause__) or "app" in innermost_functions(error.__cause__)
    assert elapsed < ELAPSED_BOUND, f"{fault.id} took {elapsed:.2f} s"
    # Private, as nothing public shows every call the client started (the lifespan's has no trace a
    # caller can reach, and a fault's error carries none): that the app ran, and that each call ended.
    assert app_tasks, "the app was never started"
    assert all(task.finished for task in app_tasks), f"{fault.id}: an app task is still running"
    assert running_tasks(anyio_backend) == before


# -- what the matrix cannot say in one row ------------------------------------------------------------


async def test_hang_names_the_line_the_app_waits_on() -> None:
    with pytest.raises(AppTimeout) as info:
        await Client(hang_before_start(), timeout=TIMEOUT, grace=GRACE).get("/")
    assert "Stuck.get, line" in str(info.value)
    # The same on every backend: the call that line made, not the loop's own innermost frame.
    assert str(info.value).endswith("await anyio.sleep_forever() (inside sleep_forever)")
    assert info.value.waiting_at, "the frames the app was suspended in"


async def test_idle_session_stays_usable_after_a_receive_timeout() -> None:
    class Echo(WebSocketEndpoint):  # here, not tests/apps.py: tools/fault_table.py loads this file alone
        async def on_receive(self, websocket: Any, data: Any) -> None:
            await websocket.send_text(f"echo {data}")

    async with Client(Echo, timeout=TIMEOUT, grace=GRACE).websocket_connect("/") as ws:
        with pytest.raises(AppTimeout):
            await ws.receive_text()
        await ws.send_text("still here")
        assert await ws.receive_text() == "echo still here"
    assert ws.close_code == 1000


async def test_stuck_session_is_closed_after_a_receive_timeout() -> None:
    client = Client(hang_elsewhere_after_accept(), timeout=TIMEOUT, grace=GRACE)
    async with client.websocket_connect("/") as ws:
        await ws.send_text("hello")
        with pytest.raises(AppTimeout):
            await ws.receive_text()
        assert ws.closed and ws.trace.outcome != "running"  # the app's call has ended


async def test_crash_with_raise_app_exceptions_off_is_a_500() -> None:
    response = await Client(crash_in_handler(), timeout=TIMEOUT, raise_app_exceptions=False).get("/")
    assert response.status_code == 500
    assert isinstance(response.app_exception, Boom)


async def test_a_timeout_per_call_overrides_the_client() -> None:
    client = Client(hang_before_start(), timeout=60, grace=GRACE)
    started = time.perf_counter()
    with pytest.raises(AppTimeout) as info:
        await client.get("/", timeout=TIMEOUT)
    assert info.value.timeout == TIMEOUT
    assert time.perf_counter() - started < ELAPSED_BOUND


def test_every_fault_is_in_the_doc() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "faults.md").read_text()
    missing = [fault.id for fault in FAULTS if f"test_fault[asyncio-{fault.id}]" not in doc]
    assert not missing, f"docs/faults.md lacks {missing}; run tools/fault_table.py"


def test_fault_ids_are_unique() -> None:
    assert len({fault.id for fault in FAULTS}) == len(FAULTS)
    assert playground.AppTimeout.__mro__[1] is TimeoutError
