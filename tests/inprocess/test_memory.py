"""What an exchange leaves behind once it is over, and what keeps a running one alive.

A finished request or session is freed as soon as nobody holds it, not at the next run of the cyclic
garbage collector: with thousands of sessions, every object left for the collector makes each of
its runs longer. And an app still running is never destroyed mid-call because the session object
was dropped (asyncio keeps only weak references to tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from apps import Hello
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.websockets import WebSocket

from playground import Client, HTTPEndpoint, WebSocketDenied, WebSocketEndpoint

pytestmark = pytest.mark.anyio


@contextlib.contextmanager
def left_for_the_collector() -> Iterator[list[str]]:
    """The names of the playground objects that only the cyclic garbage collector could free,
    among those that became garbage during the block."""
    found: list[str] = []
    gc.collect()
    # Objects from earlier tests (an app let go, still finishing) may become garbage during the
    # block too: only those made during it count.
    earlier = {id(o) for o in gc.get_objects() if _ours(o)}
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(sorted({type(o).__qualname__ for o in gc.garbage if _ours(o) and id(o) not in earlier}))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _ours(thing: object) -> bool:
    module = type(thing).__module__
    return isinstance(module, str) and module.startswith("playground.")


class Counting(HTTPEndpoint):
    async def get(self, request: Request) -> StreamingResponse:
        async def numbers() -> Any:
            for i in range(100):
                yield f"{i}\n"

        return StreamingResponse(numbers())


class Echo(WebSocketEndpoint):  # denies and closes on request: every way a session ends is measured
    encoding = "text"

    async def on_connect(self, websocket: WebSocket) -> None:
        if websocket.query_params.get("deny"):
            await websocket.close(code=4403)
            return
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        if data == "bye":
            await websocket.close(code=4000)
        else:
            await websocket.send_text(data)


# Each test drops its client at the end, so everything it made is unreachable; lifespan is off, as
# an app's exception kept for the caller (an endpoint refusing the lifespan scope) holds the frames
# that hold its exchange: that cycle is left to the collector, as every kept traceback is.


async def test_finished_requests_are_freed_without_the_collector() -> None:
    with left_for_the_collector() as found:
        client = Client(Hello, lifespan="off")
        for _ in range(20):
            assert (await client.get("/")).text == "hello"
            assert (await client.post("/", content=b"abc")).text == "abc"
            response = await client.get("/", headers={"x-custom": "1"}, params={"q": "1"})
            assert response.status_code == 200
        await client.aclose()
        del client, response
    assert found == []


async def test_finished_streams_are_freed_without_the_collector() -> None:
    with left_for_the_collector() as found:
        client = Client(Counting, lifespan="off")
        for _ in range(10):
            assert (await client.get("/")).text.count("\n") == 100
            async with client.stream("GET", "/") as response:
                lines = [line async for line in response.aiter_lines()]
            assert len(lines) == 100
            async with client.stream("GET", "/") as response:  # left before the end
                async for _ in response.aiter_lines():
                    break
        await client.aclose()
        del client, response
    assert found == []


async def test_finished_sessions_are_freed_without_the_collector() -> None:
    with left_for_the_collector() as found:
        client = Client(Echo, lifespan="off")
        for _ in range(10):
            async with client.websocket_connect("/ws") as ws:  # closed by the client
                await ws.send_text("hi")
                assert await ws.receive_text() == "hi"
            async with client.websocket_connect("/ws") as ws:  # closed by the app
                await ws.send_text("bye")
                assert (await ws.receive())["code"] == 4000
            with pytest.raises(WebSocketDenied):
                async with client.websocket_connect("/ws?deny=1"):
                    pass
        await client.aclose()
        del client, ws
    assert found == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio holds every task it runs
async def test_a_session_nobody_holds_keeps_its_app_running() -> None:
    """As when a notebook cell that opened ``ws`` is run again: the old session's app is still
    waiting in ``receive()`` and must not be destroyed mid-call by the garbage collector."""

    async def open_and_forget() -> None:
        client = Client(Echo)
        await client.websocket_connect("/ws")

    before = asyncio.all_tasks()
    await open_and_forget()
    for _ in range(5):
        await asyncio.sleep(0)  # the app settles into its wait in receive()
    gc.collect()
    left = asyncio.all_tasks() - before
    assert len(left) == 1
    (app_task,) = left
    assert not app_task.done()
    app_task.cancel()  # the test's own cleanup
    with contextlib.suppress(asyncio.CancelledError):
        await app_task
