"""The app runs on the caller's own event loop, as tasks: no thread, no second loop.

So objects made by the caller (an ``asyncio.Queue``, a trio channel, a context variable) work inside
the app, and a hung app is cancelled on time, leaving nothing behind.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import anyio
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket
from task_census import running_tasks, settled_tasks

from playground import AppTimeout, Client, HTTPEndpoint, WebSocketEndpoint

pytestmark = pytest.mark.anyio

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_asyncio_queue_made_by_the_caller_works_in_the_app() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    loops: list[asyncio.AbstractEventLoop] = []

    class Producer(HTTPEndpoint):
        async def post(self, request: Request) -> Response:
            loops.append(asyncio.get_running_loop())
            await queue.put((await request.body()).decode())
            return PlainTextResponse("queued")

    class Consumer(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse(await queue.get())

    threads = threading.active_count()
    client = Client(Producer)
    assert (await client.post("/", content=b"job 1")).text == "queued"
    assert queue.get_nowait() == "job 1"
    assert loops == [asyncio.get_running_loop()]

    # The app waits on the caller's queue while the caller fills it.
    async def fill_later() -> None:
        await asyncio.sleep(0.05)
        await queue.put("job 2")

    filler = asyncio.create_task(fill_later())
    assert (await Client(Consumer).get("/")).text == "job 2"
    await filler
    assert threading.active_count() == threads


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_a_trio_memory_channel_made_by_the_caller_works_in_the_app() -> None:
    import trio

    send_channel, receive_channel = trio.open_memory_channel[str](10)

    class Producer(HTTPEndpoint):
        async def post(self, request: Request) -> Response:
            await send_channel.send((await request.body()).decode())
            return PlainTextResponse("sent")

    class Relay(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: WebSocket, data: str) -> None:
            await websocket.send_text(await receive_channel.receive())

    client = Client(Producer)
    assert (await client.post("/", content=b"one")).text == "sent"
    assert receive_channel.receive_nowait() == "one"
    async with Client(Relay).websocket_connect("/ws") as ws:
        await ws.send_text("next please")
        await send_channel.send("two")
        assert await ws.receive_text() == "two"


async def test_context_variables_of_the_caller_are_visible_in_the_app() -> None:
    class Who(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse(request_id.get())

    class SyncWho(HTTPEndpoint):
        def get(self, request: Request) -> Response:  # runs in a worker thread, context copied
            return PlainTextResponse(request_id.get())

    class WSWho(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.send_text(request_id.get())

    token = request_id.set("req-42")
    try:
        assert (await Client(Who).get("/")).text == "req-42"
        assert (await Client(SyncWho).get("/")).text == "req-42"
        async with Client(WSWho).websocket_connect("/ws") as ws:
            assert await ws.receive_text() == "req-42"
    finally:
        request_id.reset(token)
    assert (await Client(Who).get("/")).text == "unset"


async def test_the_app_cannot_change_the_callers_context() -> None:
    class Setter(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            request_id.set("set by the app")
            return PlainTextResponse(request_id.get())

    assert (await Client(Setter).get("/")).text == "set by the app"
    assert request_id.get() == "unset"


async def test_a_hung_endpoint_times_out_naming_the_phase_and_line() -> None:
    cancelled: list[bool] = []

    class Hung(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            try:
                await anyio.sleep(3600)  # the line the error must name
            except anyio.get_cancelled_exc_class():
                cancelled.append(True)
                raise
            return PlainTextResponse("never")

    before = running_tasks()
    started = anyio.current_time()
    with pytest.raises(TimeoutError) as info:
        await Client(Hung, timeout=0.3, grace=0.3).get("/")
    elapsed = anyio.current_time() - started
    error = info.value
    assert isinstance(error, AppTimeout)
    assert error.phase == "response start"
    assert error.timeout == 0.3
    message = str(error)
    assert "response start" in message
    assert "Hung.get" in message and "await anyio.sleep(3600)" in message
    assert 0.3 <= elapsed < 2.3
    assert cancelled == [True]
    assert error.waiting_at and any(frame.qualname.endswith("Hung.get") for frame in error.waiting_at)
    assert await settled_tasks(before) == before


async def test_a_per_call_timeout_overrides_the_clients() -> None:
    class Slow(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            await anyio.sleep(0.3)
            return PlainTextResponse("done")

    client = Client(Slow, timeout=0.1)
    with pytest.raises(TimeoutError):
        await client.get("/")
    assert (await client.get("/", timeout=5)).text == "done"
    assert (await client.get("/", timeout=None)).text == "done"


async def test_a_hung_body_names_the_body_phase() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await anyio.Event().wait()

    before = running_tasks()
    with pytest.raises(AppTimeout, match="response body") as info:
        await Client(app, timeout=0.2, grace=0.2).get("/")
    assert "await anyio.Event().wait()" in str(info.value)
    assert await settled_tasks(before) == before


async def test_an_app_that_ignores_cancellation_is_let_go() -> None:
    release = anyio.Event()
    log: list[str] = []

    async def stubborn(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await release.wait()
        finally:
            log.append("unwound")

    before = running_tasks()
    started = anyio.current_time()
    with pytest.raises(AppTimeout):
        await Client(stubborn, timeout=0.2, grace=0.2).get("/")
    # The kernel is not held hostage: the error comes after the timeout plus one grace.
    assert anyio.current_time() - started < 2
    assert log == []  # still running, let go
    assert await settled_tasks(before) != before  # the let-go app task is still there
    release.set()
    # Once it stops ignoring the cancellation it ends, and nothing is left running.
    assert await settled_tasks(before, within=1) == before
    assert log == ["unwound"]


async def test_a_shielded_step_finishes_before_the_cancel_lands() -> None:
    # Starlette closes files under a shield: cancelling the app must wait for that step, not cut it.
    log: list[str] = []

    async def closing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.3)
                log.append("closed")
            await anyio.sleep(60)
            log.append("not cancelled")
        finally:
            log.append("unwound")

    before = running_tasks()
    with pytest.raises(AppTimeout):
        await Client(closing, timeout=0.1, grace=1.0).get("/")
    assert log == ["closed", "unwound"]
    assert await settled_tasks(before) == before
