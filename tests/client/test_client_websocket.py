"""WebSocket sessions through the in-process Client: messages of every kind, subprotocols, closing in
both directions, denials, many sessions at once, timeouts per receive, and the transcript."""

from __future__ import annotations

import json
import traceback
from typing import Any

import anyio
import pytest
from apps import Echo
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from playground import AppTimeout, Client, WebSocketDenied, WebSocketDisconnect, WebSocketEndpoint

pytestmark = pytest.mark.anyio


async def test_text_and_bytes() -> None:
    async with Client(Echo).websocket_connect("/ws") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "echo: hi"
        await ws.send_bytes(b"\x00\x01")
        assert await ws.receive_bytes() == b"echo: \x00\x01"
        await ws.send_text("")
        assert await ws.receive_text() == "echo: "
    assert ws.close_code == 1000
    assert ws.closed_by == "client"


async def test_json_in_text_and_binary_modes() -> None:
    class JSONEcho(WebSocketEndpoint):
        encoding = "json"

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            await websocket.send_json({"got": data})
            await websocket.send_json({"got": data}, mode="binary")

    async with Client(JSONEcho).websocket_connect("/ws") as ws:
        await ws.send_json({"a": 1, "name": "tëst"})
        assert await ws.receive_json() == {"got": {"a": 1, "name": "tëst"}}
        assert await ws.receive_json(mode="binary") == {"got": {"a": 1, "name": "tëst"}}
        await ws.send_json([1, 2], mode="binary")
        assert await ws.receive_json() == {"got": [1, 2]}
        raw = await ws.receive()
        assert raw["type"] == "websocket.send" and json.loads(raw["bytes"]) == {"got": [1, 2]}
    sent = [line for line in ws.transcript if line.sender == "client" and line.kind in ("text", "bytes")]
    assert [line.kind for line in sent] == ["text", "bytes"]
    assert json.loads(sent[1].data) == [1, 2]


async def test_raw_receive_and_send() -> None:
    async with Client(Echo).websocket_connect("/ws") as ws:
        await ws.send({"type": "websocket.receive", "text": "raw"})
        message = await ws.receive()
        assert message == {"type": "websocket.send", "text": "echo: raw"}
        with pytest.raises(ValueError, match=r"websocket\.receive"):
            await ws.send({"type": "websocket.send", "text": "wrong direction"})


async def test_subprotocols_accepted_subprotocol_and_headers() -> None:
    seen: dict[str, Any] = {}

    class Negotiating(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            seen["subprotocols"] = websocket.scope["subprotocols"]
            seen["token"] = websocket.headers.get("x-token")
            await websocket.accept(subprotocol="wamp", headers=[(b"x-accepted-by", b"test")])

    async with Client(Negotiating).websocket_connect(
        "/ws", subprotocols=["graphql-ws", "wamp"], headers={"X-Token": "secret"}
    ) as ws:
        assert ws.accepted_subprotocol == "wamp"
        assert (b"x-accepted-by", b"test") in ws.accept_headers
    assert seen == {"subprotocols": ["graphql-ws", "wamp"], "token": "secret"}

    async with Client(Echo).websocket_connect("/ws", subprotocols=["wamp"]) as ws:
        assert ws.accepted_subprotocol is None  # the app chose none


async def test_client_close_code_and_reason_reach_the_app() -> None:
    seen: list[Any] = []

    class Recording(WebSocketEndpoint):
        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            seen.append(close_code)

    async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        seen.append(await receive())

    async with Client(Recording).websocket_connect("/ws") as ws:
        await ws.close(code=4001, reason="x")
    assert seen == [4001]
    assert (ws.close_code, ws.close_reason, ws.closed_by) == (4001, "x", "client")

    async with Client(raw).websocket_connect("/ws") as ws:
        await ws.close(code=4001, reason="x")
    assert seen[1] == {"type": "websocket.disconnect", "code": 4001, "reason": "x"}


async def test_app_close_raises_websocket_disconnect_on_receive() -> None:
    class Closing(WebSocketEndpoint):
        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            await websocket.close(code=4403, reason="go away")

    async with Client(Closing).websocket_connect("/ws") as ws:
        await ws.send_text("hello")
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive_text()
        assert (info.value.code, info.value.reason) == (4403, "go away")
        # Receiving again says the same; sending is refused the same way.
        with pytest.raises(WebSocketDisconnect):
            await ws.send_text("still there?")
    assert (ws.close_code, ws.close_reason, ws.closed_by) == (4403, "go away", "app")
    # Starlette's own exception class catches it too.
    from starlette.websockets import WebSocketDisconnect as StarletteDisconnect

    assert isinstance(info.value, StarletteDisconnect)


async def test_raw_receive_gets_the_close_message() -> None:
    class Closing(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.send_text("bye")
            await websocket.close(code=1001)

    async with Client(Closing).websocket_connect("/ws") as ws:
        assert await ws.receive_text() == "bye"
        message = await ws.receive()
        assert message["type"] == "websocket.close" and message["code"] == 1001
    assert ws.close_code == 1001 and ws.closed_by == "app"


async def test_denial_by_closing_before_accept() -> None:
    class Refusing(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.close(code=4003, reason="no entry")

    with pytest.raises(WebSocketDenied) as info:
        async with Client(Refusing).websocket_connect("/ws"):
            pytest.fail("the block must not run")
    assert info.value.code == 4003
    assert info.value.reason == "no entry"
    assert info.value.response is None
    assert "4003" in str(info.value)


async def test_denial_by_an_http_response() -> None:
    class Forbidden(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.send_denial_response(PlainTextResponse("members only", status_code=403))

    for app in (Forbidden, Starlette(routes=[WebSocketRoute("/ws", Forbidden)])):
        with pytest.raises(WebSocketDenied) as info:
            async with Client(app).websocket_connect("/ws"):
                pytest.fail("the block must not run")
        response = info.value.response
        assert response is not None
        assert response.status_code == 403
        assert response.text == "members only"
        assert response.headers["content-type"].startswith("text/plain")
        assert info.value.code is None
        assert "403" in str(info.value)


async def test_many_sessions_in_a_chat_room() -> None:
    room: list[WebSocket] = []

    class Chat(WebSocketEndpoint):
        encoding = "text"

        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.accept()
            room.append(websocket)

        async def on_receive(self, websocket: WebSocket, data: str) -> None:
            name = websocket.query_params["name"]
            for member in room:
                await member.send_text(f"{name}: {data}")

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            room.remove(websocket)

    client = Client(Starlette(routes=[WebSocketRoute("/chat", Chat)]))
    async with client.websocket_connect("/chat?name=ann") as ann, client.websocket_connect("/chat?name=bob") as bob:
        assert len(room) == 2
        await ann.send_text("hello")
        assert await ann.receive_text() == "ann: hello"
        assert await bob.receive_text() == "ann: hello"
        await bob.send_text("hi ann")
        assert await ann.receive_text() == "bob: hi ann"
        assert await bob.receive_text() == "bob: hi ann"
        # Nothing more is waiting for either.
        with pytest.raises(TimeoutError):
            await ann.receive_text(timeout=0.05)
    assert room == []


async def test_leaving_the_block_lets_on_disconnect_finish() -> None:
    log: list[str] = []

    class SlowGoodbye(WebSocketEndpoint):
        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            log.append(f"disconnect {close_code}")
            await anyio.sleep(0.2)
            log.append("recorded")

    async with Client(SlowGoodbye).websocket_connect("/ws") as ws:
        await ws.send_text("hi")
    assert log == ["disconnect 1000", "recorded"]
    assert ws.trace.outcome == "returned"  # the app's call has ended, by returning


async def test_receive_timeout_per_call() -> None:
    async with Client(Echo, timeout=5).websocket_connect("/ws") as ws:
        started = anyio.current_time()
        with pytest.raises(TimeoutError) as info:
            await ws.receive_text(timeout=0.1)
        assert anyio.current_time() - started < 2
        assert isinstance(info.value, AppTimeout)
        assert "receive" in str(info.value)
        # The app was only waiting for the client: the session is still usable.
        await ws.send_text("still open")
        assert await ws.receive_text(timeout=1) == "echo: still open"


async def test_receive_text_on_bytes_keeps_the_message() -> None:
    async with Client(Echo).websocket_connect("/ws") as ws:
        await ws.send_bytes(b"data")
        with pytest.raises(TypeError, match="bytes"):
            await ws.receive_text()
        assert await ws.receive_bytes() == b"echo: data"
        await ws.send_text("words")
        with pytest.raises(TypeError):
            await ws.receive_bytes()
        assert (await ws.receive())["text"] == "echo: words"


async def test_a_session_without_async_with() -> None:
    log: list[int] = []

    class Recording(Echo):
        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            log.append(close_code)

    client = Client(Recording)
    ws = await client.websocket_connect("/ws")
    assert ws.accepted and not ws.closed
    await ws.send_text("across cells")
    assert await ws.receive_text() == "echo: across cells"
    await ws.close()
    assert log == [1000]
    assert ws.closed and ws.closed_by == "client"


async def test_client_closes_open_sessions_when_it_closes() -> None:
    log: list[int] = []

    class Recording(Echo):
        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            log.append(close_code)

    async with Client(Recording) as client:
        first = await client.websocket_connect("/ws")
        second = await client.websocket_connect("/ws")
    assert log == [1000, 1000]
    assert first.closed and second.closed


async def test_transcript() -> None:
    async with Client(Echo).websocket_connect("/ws") as ws:
        await ws.send_text("one")
        await ws.receive_text()
        await ws.send_bytes(b"two")
        await ws.receive_bytes()
        await ws.close(code=4000, reason="done")
    lines = ws.transcript
    assert [(line.sender, line.kind, line.data) for line in lines] == [
        ("client", "connect", None),
        ("app", "accept", None),
        ("client", "text", "one"),
        ("app", "text", "echo: one"),
        ("client", "bytes", b"two"),
        ("app", "bytes", b"echo: two"),
        ("client", "close", (4000, "done")),
    ]
    offsets = [line.offset for line in lines]
    assert offsets == sorted(offsets)
    assert ws.trace.types[:2] == ["websocket.connect", "websocket.accept"]


async def test_app_exception_is_raised_not_swallowed() -> None:
    class Crashing(WebSocketEndpoint):
        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            raise KeyError("bad message")

    with pytest.raises(KeyError, match="bad message") as info:
        async with Client(Crashing).websocket_connect("/ws") as ws:
            await ws.send_text("x")
            await ws.receive_text()
    assert not isinstance(info.value, BaseExceptionGroup)
    assert traceback.extract_tb(info.value.__traceback__)[-1].name == "on_receive"
    assert (ws.close_code, ws.closed_by) == (1011, "app")


async def test_a_websocket_that_never_accepts_times_out() -> None:
    class Silent(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            await anyio.sleep(60)

    started = anyio.current_time()
    with pytest.raises(TimeoutError, match="WebSocket accept") as info:
        async with Client(Silent, timeout=0.2, grace=0.2).websocket_connect("/ws"):
            pass
    assert anyio.current_time() - started < 2
    assert "on_connect" in str(info.value)


# -- the replies to a message, as %%ws takes them -------------------------------------------------


class Chatty(WebSocketEndpoint):
    """Answers each message with as many replies as the message says, after a pause; 'bye' closes."""

    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        if data == "bye":
            await websocket.send_text("goodbye")
            await websocket.close(4000)
            return
        await anyio.sleep(0.02)  # busy, not waiting: the replies are still to come
        for i in range(int(data)):
            await websocket.send_text(f"reply {i}")


async def test_receive_replies_takes_what_the_app_says_until_it_waits_again() -> None:
    async with Client(Chatty).websocket_connect("/") as ws:
        assert await ws.receive_replies() == []  # no greeting
        await ws.send_text("3")
        replies = await ws.receive_replies()
        assert [m["text"] for m in replies] == ["reply 0", "reply 1", "reply 2"]
        with anyio.fail_after(1):  # the app waits: exact in-process, no quiet period to sit out
            await ws.send_text("0")
            assert await ws.receive_replies() == []
        await ws.send_text("bye")
        replies = await ws.receive_replies()
        assert [m["type"] for m in replies] == ["websocket.send", "websocket.close"]
        assert replies[-1]["code"] == 4000 and ws.closed_by == "app"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # serve() runs uvicorn, which runs on asyncio only
async def test_receive_replies_over_the_network_waits_for_a_quiet_period() -> None:
    from playground import serve

    async with serve(Chatty) as server:
        async with Client(server.url).websocket_connect("/") as ws:
            assert ws.quiet_period == 0.2
            await ws.send_text("2")
            started = anyio.current_time()
            replies = await ws.receive_replies()
            assert [m["text"] for m in replies] == ["reply 0", "reply 1"]
            assert anyio.current_time() - started >= ws.quiet_period  # the server's side is out of sight
            await ws.send_text("bye")
            replies = await ws.receive_replies()
            assert [m["type"] for m in replies] == ["websocket.send", "websocket.close"]
