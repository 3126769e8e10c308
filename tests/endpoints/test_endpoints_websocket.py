"""playground.WebSocketEndpoint driven with raw ASGI messages: encodings, hooks and close codes.

Each behaviour is the one Starlette 1.10's ``starlette.endpoints.WebSocketEndpoint`` has; the
endpoints run as bare ASGI apps and inside ``WebSocketRoute`` and ``Starlette``.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgi_driver import ApplicationCommunicator, run, websocket_scope
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from playground import Client
from playground.endpoints import WebSocketEndpoint

pytestmark = pytest.mark.anyio

CONNECT = {"type": "websocket.connect"}
ACCEPT = {"type": "websocket.accept", "subprotocol": None, "headers": []}
DISCONNECT = {"type": "websocket.disconnect", "code": 1000}
UNSUPPORTED_DATA_CLOSE = {"type": "websocket.close", "code": 1003, "reason": ""}


def text(value: str | None, **extra: Any) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": value, **extra}


def binary(value: bytes | None, **extra: Any) -> dict[str, Any]:
    return {"type": "websocket.receive", "bytes": value, **extra}


def recorder(encoding: str | None) -> tuple[type[WebSocketEndpoint], list[Any]]:
    """An endpoint class that records every hook call, and the list it records into."""
    calls: list[Any] = []

    class Recorder(WebSocketEndpoint):
        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            calls.append(("receive", data))

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            calls.append(("disconnect", close_code))

    Recorder.encoding = encoding  # type: ignore[assignment]
    return Recorder, calls


# --- encodings ----------------------------------------------------------------------------------------

ACCEPTED = [
    ("text", text("hello"), "hello"),
    ("text", text(""), ""),
    ("text", {"type": "websocket.receive", "text": "both", "bytes": None}, "both"),
    ("bytes", binary(b"\x00\xff"), b"\x00\xff"),
    ("bytes", binary(b""), b""),
    ("bytes", {"type": "websocket.receive", "text": None, "bytes": b"both"}, b"both"),
    ("json", text('{"a": [1, 2]}'), {"a": [1, 2]}),
    ("json", binary(b'{"a": [1, 2]}'), {"a": [1, 2]}),
    ("json", binary('"caf\u00e9"'.encode()), "caf\u00e9"),
    ("json", {"type": "websocket.receive", "text": None, "bytes": b"[true]"}, [True]),
    ("json", text("null"), None),
    (None, text("hello"), "hello"),
    (None, text(""), ""),
    (None, binary(b"bin"), b"bin"),
    (None, binary(b""), b""),
    (None, {"type": "websocket.receive", "text": "", "bytes": b"ignored"}, ""),
    (None, {"type": "websocket.receive", "text": None, "bytes": b"kept"}, b"kept"),
]


@pytest.mark.parametrize(("encoding", "message", "data"), ACCEPTED)
async def test_encoding_passes_the_right_kind_of_message_on(
    encoding: str | None, message: dict[str, Any], data: Any
) -> None:
    endpoint, calls = recorder(encoding)
    transcript = await run(endpoint, websocket_scope(), [CONNECT, message, DISCONNECT])
    assert transcript.exception is None
    assert transcript.sent == [ACCEPT]
    assert calls == [("receive", data), ("disconnect", 1000)]
    assert type(calls[0][1]) is type(data)


EXPECTED_TEXT = "Expected text websocket messages, but got bytes"
EXPECTED_BYTES = "Expected bytes websocket messages, but got text"
MALFORMED_JSON = "Malformed JSON data received."

REJECTED = [
    ("text", binary(b"x"), EXPECTED_TEXT),
    ("text", {"type": "websocket.receive", "text": None, "bytes": b"x"}, EXPECTED_TEXT),
    ("bytes", text("x"), EXPECTED_BYTES),
    ("bytes", text(""), EXPECTED_BYTES),
    ("bytes", {"type": "websocket.receive", "text": "x", "bytes": None}, EXPECTED_BYTES),
    ("json", text("{not json"), MALFORMED_JSON),
    ("json", text(""), MALFORMED_JSON),
    ("json", binary(b"{not json"), MALFORMED_JSON),
]


@pytest.mark.parametrize(("encoding", "message", "error"), REJECTED)
async def test_wrong_kind_or_malformed_json_closes_1003_then_raises(
    encoding: str, message: dict[str, Any], error: str
) -> None:
    endpoint, calls = recorder(encoding)
    transcript = await run(endpoint, websocket_scope(), [CONNECT, message, DISCONNECT])
    assert transcript.sent == [ACCEPT, UNSUPPORTED_DATA_CLOSE]
    assert type(transcript.exception) is RuntimeError
    assert str(transcript.exception) == error
    # The session failed: on_receive never saw the message, on_disconnect hears 1011.
    assert calls == [("disconnect", 1011)]
    # The endpoint stopped reading: the client's disconnect was never taken in.
    assert transcript.received == [CONNECT, message]


async def test_malformed_json_keeps_the_decode_error_as_context() -> None:
    endpoint, _ = recorder("json")
    transcript = await run(endpoint, websocket_scope(), [CONNECT, text("{")])
    assert transcript.exception is not None
    assert type(transcript.exception.__context__).__name__ == "JSONDecodeError"


async def test_json_with_invalid_utf8_bytes_raises_unicode_decode_error_without_closing() -> None:
    endpoint, calls = recorder("json")
    transcript = await run(endpoint, websocket_scope(), [CONNECT, binary(b"\xff\xfe"), DISCONNECT])
    assert isinstance(transcript.exception, UnicodeDecodeError)
    # As in Starlette: no 1003 close for this one; the server closes after the app fails.
    assert transcript.sent == [ACCEPT]
    assert calls == [("disconnect", 1011)]


# --- the hooks --------------------------------------------------------------------------------------


async def test_default_hooks_accept_and_ignore_everything() -> None:
    class Quiet(WebSocketEndpoint):
        pass

    inputs = [CONNECT, text("a"), binary(b"b"), {"type": "websocket.disconnect", "code": 1001}]
    transcript = await run(Quiet, websocket_scope(), inputs)
    assert transcript.exception is None
    assert transcript.sent == [ACCEPT]
    assert transcript.received == inputs


@pytest.mark.parametrize(
    ("disconnect", "close_code"),
    [
        ({"type": "websocket.disconnect", "code": 1001}, 1001),
        ({"type": "websocket.disconnect", "code": 4321, "reason": "bye"}, 4321),
        ({"type": "websocket.disconnect"}, 1000),
        ({"type": "websocket.disconnect", "code": 0}, 1000),
        ({"type": "websocket.disconnect", "code": None}, 1000),
    ],
)
async def test_on_disconnect_gets_the_clients_close_code(disconnect: dict[str, Any], close_code: int) -> None:
    endpoint, calls = recorder(None)
    transcript = await run(endpoint, websocket_scope(), [CONNECT, disconnect])
    assert transcript.exception is None
    assert calls == [("disconnect", close_code)]


@pytest.mark.parametrize("failing_hook", ["on_receive", "on_disconnect_raises_too"])
async def test_an_escaping_exception_reaches_on_disconnect_as_1011_then_is_reraised(failing_hook: str) -> None:
    events: list[Any] = []
    error = ValueError("bad message")

    class Failing(WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: WebSocket, data: Any) -> None:
            events.append("on_receive")
            raise error

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            events.append(("on_disconnect", close_code))
            if failing_hook == "on_disconnect_raises_too":
                raise KeyError("cleanup failed")

    transcript = await run(Failing, websocket_scope(), [CONNECT, text("x"), DISCONNECT])
    assert events == ["on_receive", ("on_disconnect", 1011)]
    if failing_hook == "on_receive":
        assert transcript.exception is error
    else:
        # An exception in the hook replaces the original, which stays as its context.
        assert isinstance(transcript.exception, KeyError)
        assert transcript.exception.__context__ is error


async def test_an_exception_in_on_connect_propagates_without_on_disconnect() -> None:
    events: list[Any] = []

    class Refusing(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            raise PermissionError("no token")

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            events.append(close_code)

    transcript = await run(Refusing, websocket_scope(), [CONNECT, DISCONNECT])
    assert isinstance(transcript.exception, PermissionError)
    assert transcript.sent == []
    assert events == []


async def test_on_connect_can_accept_a_subprotocol_and_headers() -> None:
    class Wamp(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            assert websocket.scope["subprotocols"] == ["wamp", "mqtt"]
            await websocket.accept(subprotocol="wamp", headers=[(b"x-session", b"1")])

    transcript = await run(Wamp, websocket_scope(subprotocols=["wamp", "mqtt"]), [CONNECT, DISCONNECT])
    assert transcript.sent == [
        {"type": "websocket.accept", "subprotocol": "wamp", "headers": [(b"x-session", b"1")]}
    ]


async def test_on_connect_can_deny_by_closing() -> None:
    events: list[Any] = []

    class Denying(WebSocketEndpoint):
        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.close(code=1008, reason="go away")

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            events.append(close_code)

    transcript = await run(
        Denying, websocket_scope(), [CONNECT, {"type": "websocket.disconnect", "code": 1006}]
    )
    assert transcript.sent == [{"type": "websocket.close", "code": 1008, "reason": "go away"}]
    assert transcript.exception is None
    assert events == [1006]


# --- conversations, bare and routed ---------------------------------------------------------------------


class Echo(WebSocketEndpoint):  # JSON, naming the route's path parameter: what the routing tests check
    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        name = websocket.path_params.get("name", "anyone")
        await websocket.send_json({"to": name, "echo": data})


@pytest.mark.parametrize("wrap", ["bare", "websocket_route", "starlette"])
async def test_an_echo_conversation_step_by_step(wrap: str) -> None:
    app: Any = {
        "bare": Echo,
        "websocket_route": WebSocketRoute("/ws/{name}", Echo),
        "starlette": Starlette(routes=[WebSocketRoute("/ws/{name}", Echo)]),
    }[wrap]
    name = "anyone" if wrap == "bare" else "tom"
    async with ApplicationCommunicator(app, websocket_scope("/ws/tom")) as app_io:
        await app_io.send_input(CONNECT)
        assert await app_io.receive_output() == ACCEPT
        for payload in ('{"n": 1}', "[2]"):
            await app_io.send_input(text(payload))
            reply = await app_io.receive_output()
            assert reply["type"] == "websocket.send"
            assert reply["text"] == f'{{"to":"{name}","echo":{payload.replace(" ", "")}}}'
        await app_io.send_input(binary(b'"as bytes"'))
        assert (await app_io.receive_output())["text"] == f'{{"to":"{name}","echo":"as bytes"}}'
        await app_io.send_input(DISCONNECT)
        await app_io.wait()
    assert app_io.finished


async def test_a_failing_session_inside_starlette_reraises() -> None:
    app = Starlette(routes=[WebSocketRoute("/ws/{name}", Echo)])
    transcript = await run(app, websocket_scope("/ws/tom"), [CONNECT, text("{"), DISCONNECT])
    assert transcript.sent == [ACCEPT, UNSUPPORTED_DATA_CLOSE]
    assert isinstance(transcript.exception, RuntimeError)
    assert str(transcript.exception) == "Malformed JSON data received."


async def test_a_websocket_endpoint_refuses_an_http_scope() -> None:
    with pytest.raises(AssertionError):
        Echo({"type": "http"}, None, None)  # type: ignore[arg-type]


async def test_http_to_a_websocket_endpoint_says_what_went_wrong() -> None:
    # Starlette asserts with no message; the type stays AssertionError (parity), now with one.
    with pytest.raises(AssertionError, match=r"Echo is a WebSocketEndpoint.*'http' connection"):
        await Client(Echo).get("/")
