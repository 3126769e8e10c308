"""``Client.stream()``: returns at ``http.response.start``, reads the body lazily, and leaving early
tells the app (``http.disconnect``) before cancelling it after the grace period."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import anyio
import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from task_census import running_tasks, settled_tasks

from playground import AppTimeout, Client, HTTPEndpoint

pytestmark = pytest.mark.anyio

GRACE = 0.3


async def test_stream_returns_at_response_start() -> None:
    gate = anyio.Event()
    log: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-started", b"yes")]})
        log.append("started")
        await gate.wait()  # the body is only sent once the test says so
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await send({"type": "http.response.body", "body": b" second"})

    async with Client(app, timeout=2).stream("GET", "/") as response:
        assert response.status_code == 200
        assert response.headers["x-started"] == "yes"
        assert log == ["started"]
        assert not response.is_stream_consumed
        gate.set()
        assert await response.aread() == b"first second"
    assert response.trace is not None and response.trace.outcome == "returned"


async def test_aiter_bytes_text_and_lines() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        for part in ("line one\nline ", "two\nthé", " end\n"):
            await send({"type": "http.response.body", "body": part.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    client = Client(app)
    async with client.stream("GET", "/") as response:
        chunks = [chunk async for chunk in response.aiter_bytes()]
    assert chunks == [b"line one\nline ", b"two\nth\xc3\xa9", b" end\n"]  # as the app sent them
    async with client.stream("GET", "/") as response:
        assert "".join([text async for text in response.aiter_text()]) == "line one\nline two\nthé end\n"
    async with client.stream("GET", "/") as response:
        assert [line async for line in response.aiter_lines()] == ["line one", "line two", "thé end"]


async def endless_events() -> AsyncIterator[str]:
    for n in itertools.count():
        yield f"event: tick\ndata: {n}\n\n"
        await anyio.sleep(0.001)


class Events(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return StreamingResponse(endless_events(), media_type="text/event-stream")


async def read_events(lines: AsyncIterator[str], count: int) -> list[str]:
    data = []
    async for line in lines:
        if line.startswith("data: "):
            data.append(line.removeprefix("data: "))
            if len(data) == count:
                break
    return data


async def test_an_endless_sse_stream_read_three_events_at_a_time() -> None:
    before = running_tasks()
    client = Client(Events, timeout=2, grace=GRACE)
    async with client.stream("GET", "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        # aclosing: a generator left half-read is closed now, not by the garbage collector later.
        async with aclosing(response.aiter_lines()) as lines:
            assert await read_events(lines, 3) == ["0", "1", "2"]
            assert await read_events(lines, 3) == ["3", "4", "5"]
            assert await read_events(lines, 3) == ["6", "7", "8"]
        left_at = anyio.current_time()
    trace = response.trace
    assert trace is not None
    # With spec_version 2.4 Starlette's StreamingResponse does not listen for http.disconnect: its next
    # send() raises OSError, which it turns into ClientDisconnect. It ended by itself, uncancelled, at once,
    # and that expected error is not raised in the notebook.
    assert trace.outcome == "raised ClientDisconnect"
    assert anyio.current_time() - left_at < GRACE
    assert trace.types.count("http.response.body") >= 9
    assert await settled_tasks(before) == before


async def test_leaving_early_tells_an_app_polling_is_disconnected() -> None:
    log: list[str] = []

    class Poller(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            async def ticks() -> AsyncIterator[bytes]:
                n = 0
                while not await request.is_disconnected():
                    yield b"tick %d\n" % n
                    n += 1
                    await anyio.sleep(0.005)
                log.append("saw the disconnect")

            return StreamingResponse(ticks())

    before = running_tasks()
    async with Client(Poller, grace=5).stream("GET", "/") as response:
        async with aclosing(response.aiter_lines()) as lines:
            assert await anext(lines) == "tick 0"
        left_at = anyio.current_time()
    # The app noticed and ended on its own, well within the grace: no cancellation was needed.
    assert anyio.current_time() - left_at < 1
    assert log == ["saw the disconnect"]
    trace = response.trace
    assert trace is not None
    assert "http.disconnect" in trace.types
    # Its generator ended; StreamingResponse's closing send() then met the gone client (ClientDisconnect).
    assert trace.outcome in ("returned", "raised ClientDisconnect")
    assert await settled_tasks(before) == before


async def test_leaving_early_delivers_http_disconnect_to_a_raw_app() -> None:
    log: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        message = await receive()
        log.append(message["type"])
        try:
            await send({"type": "http.response.body", "body": b"late", "more_body": True})
        except OSError as exc:  # ASGI spec 2.4: send after disconnect raises OSError
            log.append(type(exc).__name__)

    before = running_tasks()
    async with Client(app, grace=5).stream("GET", "/") as response:
        async with aclosing(response.aiter_bytes()) as chunks:
            assert await anext(chunks) == b"part"
    assert log == ["http.disconnect", "ClientDisconnected"]
    assert response.trace is not None and response.trace.outcome == "returned"
    assert await settled_tasks(before) == before


async def test_an_app_ignoring_the_disconnect_is_cancelled_after_the_grace() -> None:
    log: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        try:
            await anyio.sleep(60)  # never listens for http.disconnect
        except anyio.get_cancelled_exc_class():
            log.append("cancelled")
            raise

    before = running_tasks()
    client = Client(app, grace=GRACE)
    async with client.stream("GET", "/") as response:
        async with aclosing(response.aiter_bytes()) as chunks:
            assert await anext(chunks) == b"part"
        left_at = anyio.current_time()
    waited = anyio.current_time() - left_at
    assert log == ["cancelled"]
    assert GRACE * 0.9 <= waited < GRACE + 2
    assert response.trace is not None and response.trace.outcome == "cancelled"
    assert await settled_tasks(before) == before


async def test_reading_the_whole_stream_lets_the_app_return() -> None:
    log: list[str] = []

    async def finite() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"%d" % n

    async def after() -> None:
        log.append("background ran")

    class Finite(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            from starlette.background import BackgroundTask

            return StreamingResponse(finite(), background=BackgroundTask(after))

    async with Client(Finite).stream("GET", "/") as response:
        assert await response.aread() == b"012"
    assert log == ["background ran"]
    assert response.trace is not None and response.trace.outcome == "returned"
    assert "http.disconnect" not in response.trace.types


async def test_a_stalled_stream_times_out_naming_the_body() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        await anyio.sleep(60)

    before = running_tasks()
    async with Client(app, timeout=0.3, grace=GRACE).stream("GET", "/") as response:
        async with aclosing(response.aiter_bytes()) as chunks:
            assert await anext(chunks) == b"part"
            with pytest.raises(AppTimeout, match="response body") as info:
                await anext(chunks)
    assert isinstance(info.value, TimeoutError)
    assert "anyio.sleep(60)" in str(info.value)
    assert await settled_tasks(before) == before


async def test_an_error_inside_the_block_still_cleans_up() -> None:
    before = running_tasks()
    with pytest.raises(KeyError):
        async with Client(Events, grace=GRACE).stream("GET", "/") as response:
            async with aclosing(response.aiter_lines()) as lines:
                await read_events(lines, 1)
            raise KeyError("the notebook's own mistake")
    assert await settled_tasks(before) == before
    assert response.trace is not None and response.trace.outcome != "running"
