"""Small apps that tests in every folder share: one definition each, so a test names the app it needs.

An app stays in its test file where its details are what the test is about (a message at a size
limit, an app that counts its sessions, the seed's own examples).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.websockets import WebSocket

from playground import HTTPEndpoint, WebSocketEndpoint


class Hello(HTTPEndpoint):
    """GET answers "hello"; POST answers with the request's body."""

    async def get(self, request: Request) -> Response:
        return PlainTextResponse("hello")

    async def post(self, request: Request) -> Response:
        return PlainTextResponse(await request.body())


class Echo(WebSocketEndpoint):
    """Each message back with "echo: " before it, text as text and bytes as bytes: a reply can be told
    from the message that was sent."""

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        if isinstance(data, str):
            await websocket.send_text(f"echo: {data}")
        else:
            await websocket.send_bytes(b"echo: " + data)


async def events(request: Request) -> Response:
    """An endless server-sent event stream (``data: 0``, ``data: 1``, ...): only the client leaving or
    the server stopping ends it."""

    async def endless() -> AsyncIterator[str]:
        number = 0
        while True:
            yield f"data: {number}\n\n"
            number += 1
            await anyio.sleep(0.005)

    return StreamingResponse(endless(), media_type="text/event-stream")


async def boom(request: Request) -> Response:
    """A route whose handler raises."""
    raise ValueError("boom in the app")


class Recorder:
    """A raw ASGI app that keeps the scope and the whole body of each request, and answers 200 "ok"."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return  # lifespan: not supported, a server goes on
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.seen.append((scope, body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
