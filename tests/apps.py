"""Small apps that tests in every folder share: one definition each, so a test names the app it needs.

An app stays in its test file where its details are what the test is about (a message at a size
limit, an app that counts its sessions, the seed's own examples).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
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
