"""Large bodies and messages arrive intact; ``max_message_size`` refuses what is over it, both ways."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from playground import Client, HTTPEndpoint, MessageTooLarge, WebSocketEndpoint

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

TEN_MB = 10 * 1024 * 1024
ONE_MB = 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def big_body() -> bytes:
    return os.urandom(TEN_MB)


class Digest(HTTPEndpoint):
    async def post(self, request: Request) -> Response:
        body = await request.body()
        return JSONResponse({"size": len(body), "sha256": sha256(body)})


class Echo(HTTPEndpoint):  # byte for byte, as sent (not apps.Hello's text)
    async def post(self, request: Request) -> Response:
        return Response(await request.body(), media_type="application/octet-stream")


async def test_a_10_mb_request_body_arrives_intact(big_body: bytes) -> None:
    response = await Client(Digest).post("/", content=big_body)
    assert response.json() == {"size": TEN_MB, "sha256": sha256(big_body)}


async def test_a_10_mb_body_round_trips(big_body: bytes) -> None:
    response = await Client(Echo).post("/", content=big_body)
    assert response.headers["content-length"] == str(TEN_MB)
    assert len(response.content) == TEN_MB
    assert sha256(response.content) == sha256(big_body)


async def test_a_10_mb_streamed_response_arrives_intact_in_order(big_body: bytes) -> None:
    chunk = 64 * 1024

    class Chunks(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            async def parts() -> Any:
                for start in range(0, TEN_MB, chunk):
                    yield big_body[start:start + chunk]

            return StreamingResponse(parts())

    digest = hashlib.sha256()
    received = 0
    async with Client(Chunks).stream("GET", "/") as response:
        async for part in response.aiter_bytes():
            digest.update(part)
            received += len(part)
    assert received == TEN_MB
    assert digest.hexdigest() == sha256(big_body)


class WebSocketEcho(WebSocketEndpoint):  # as sent, no prefix: a reply is exactly at the size limit
    async def on_receive(self, websocket: Any, data: Any) -> None:
        if isinstance(data, str):
            await websocket.send_text(data)
        else:
            await websocket.send_bytes(data)


async def test_a_1_mb_websocket_message_both_ways() -> None:
    data = os.urandom(ONE_MB)
    text = "é" * (ONE_MB // 2)  # 1 MB of UTF-8, half as many characters
    async with Client(WebSocketEcho).websocket_connect("/") as ws:
        await ws.send_bytes(data)
        assert sha256(await ws.receive_bytes()) == sha256(data)
        await ws.send_text(text)
        assert await ws.receive_text() == text
    assert ws.close_code == 1000


# -- max_message_size ------------------------------------------------------------------------------

LIMIT = 1000


async def test_a_client_message_at_the_limit_is_sent() -> None:
    async with Client(WebSocketEcho, max_message_size=LIMIT).websocket_connect("/") as ws:
        await ws.send_bytes(b"x" * LIMIT)
        assert await ws.receive_bytes() == b"x" * LIMIT


@pytest.mark.parametrize(
    ("send", "size"),
    [
        (lambda ws: ws.send_bytes(b"x" * (LIMIT + 1)), LIMIT + 1),
        (lambda ws: ws.send_text("x" * (LIMIT + 1)), LIMIT + 1),
        (lambda ws: ws.send_text("é" * 501), 1002),  # counted in UTF-8 bytes, not characters
        (lambda ws: ws.send_json({"data": "x" * LIMIT}), LIMIT + 11),
    ],
    ids=["bytes", "text", "utf-8", "json"],
)
async def test_a_client_message_over_the_limit_is_refused_and_nothing_is_sent(send: Any, size: int) -> None:
    async with Client(WebSocketEcho, max_message_size=LIMIT).websocket_connect("/") as ws:
        with pytest.raises(MessageTooLarge) as info:
            await send(ws)
        assert str(info.value) == (
            f"the message is {size:,} bytes, more than max_message_size={LIMIT:,}; "
            "nothing was sent (raise max_message_size on the client to allow it)"
        )
        assert isinstance(info.value, ValueError)
        assert "websocket.receive" not in ws.trace.types  # the app never saw it
        # The session is still open and usable.
        await ws.send_text("small")
        assert await ws.receive_text() == "small"
    assert ws.close_code == 1000
    assert [line.data for line in ws.transcript if line.kind == "text"] == ["small", "small"]


@pytest.mark.parametrize("kind", ["bytes", "text"])
async def test_an_app_message_over_the_limit_closes_with_1009(kind: str) -> None:
    seen: dict[str, Any] = {}

    class TooChatty(WebSocketEndpoint):
        async def on_connect(self, websocket: Any) -> None:
            await websocket.accept()
            if kind == "bytes":
                await websocket.send_bytes(b"x" * (LIMIT + 1))
            else:
                await websocket.send_text("x" * (LIMIT + 1))

        async def on_disconnect(self, websocket: Any, close_code: int) -> None:
            seen["close_code"] = close_code

    async with Client(TooChatty, max_message_size=LIMIT).websocket_connect("/") as ws:
        with pytest.raises(MessageTooLarge) as info:
            await ws.receive()
        assert str(info.value) == (
            f"the app sent a {LIMIT + 1:,}-byte message, more than max_message_size={LIMIT:,}; "
            "the client closed the WebSocket with code 1009"
        )
        with pytest.raises(MessageTooLarge):  # every later receive says the same
            await ws.receive_text()
    assert seen == {"close_code": 1009}
    assert (ws.close_code, ws.closed_by) == (1009, "client")
    assert ws.trace.outcome != "running"  # the app's call has ended


async def test_max_message_size_none_allows_any_size() -> None:
    data = os.urandom(2 * ONE_MB)
    async with Client(WebSocketEcho, max_message_size=None).websocket_connect("/") as ws:
        await ws.send_bytes(data)
        assert await ws.receive_bytes() == data
