"""Differential tests: every scenario runs against Starlette 1.10's ``starlette.endpoints`` and against
``playground.endpoints``, and the two runs must be indistinguishable.

A scenario is a class body (defined on each implementation's base class by ``define``), a way to mount
it (bare, ``Route``, ``Router``, ``Starlette``, ...) and a list of raw ASGI messages from the client.
Compared: every message in both directions, in order; the exception the app ended with (type, message,
and for ``HTTPException`` its status and headers); and what the hooks recorded.

The learner aids are the only intended differences and stay out of this file's scenarios: an unknown
``encoding`` fails at class definition here (tests/endpoints/test_learner_aids.py), and misspelt handler names warn
(silenced below, since the warning must not change behaviour, which the "misspelt" class checks).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock

import pytest
import starlette.endpoints
from asgi_driver import Transcript, http_request, http_scope, run, websocket_scope
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, Router, WebSocketRoute
from starlette.websockets import WebSocket

import playground.endpoints

pytestmark = pytest.mark.anyio

IMPLEMENTATIONS: dict[str, ModuleType] = {
    "starlette": starlette.endpoints,
    "playground": playground.endpoints,
}
Body = Callable[[], dict[str, Any]]


def define(endpoints: ModuleType, kind: str, body: Body) -> type:
    """The class ``body`` describes, on ``endpoints``' base class for ``kind``; ``calls`` records hooks."""
    base = endpoints.HTTPEndpoint if kind == "http" else endpoints.WebSocketEndpoint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", playground.endpoints.EndpointWarning)
        return type("Endpoint", (base,), {"calls": [], **body()})


def outcome(transcript: Transcript, cls: type) -> dict[str, Any]:
    exception = transcript.exception
    described: tuple[Any, ...] | None = None
    if exception is not None:
        described = (type(exception), str(exception))
        if isinstance(exception, HTTPException):
            described += (exception.status_code, exception.detail, exception.headers)
    calls = cls.calls  # type: ignore[attr-defined]
    return {"events": transcript.events, "exception": described, "calls": calls}


async def run_both(
    kind: str, body: Body, mount: Callable[[type], Any], scope: dict[str, Any], inputs: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    outcomes = {}
    for name, endpoints in IMPLEMENTATIONS.items():
        cls = define(endpoints, kind, body)
        transcript = await run(mount(cls), dict(scope), [dict(message) for message in inputs])
        outcomes[name] = outcome(transcript, cls)
    return outcomes


# --- HTTP handlers ------------------------------------------------------------------------------------


async def get_text(self: Any, request: Request) -> Response:
    return PlainTextResponse(f"GET {request.url.path} {dict(request.path_params)}")


def get_sync(self: Any, request: Request) -> Response:
    self.calls.append(threading.current_thread() is threading.main_thread())
    return PlainTextResponse("sync GET")


async def head_own(self: Any, request: Request) -> Response:
    return Response(headers={"x-head": "own"})


async def post_echo(self: Any, request: Request) -> Response:
    return Response(await request.body(), media_type=request.headers.get("content-type"))


async def put_json(self: Any, request: Request) -> Response:
    return JSONResponse({"got": await request.json()})


def patch_sync(self: Any, request: Request) -> Response:
    return PlainTextResponse("patched", headers={"x-sync": "yes"})


async def delete_no_content(self: Any, request: Request) -> Response:
    return Response(status_code=204)


async def options_allow(self: Any, request: Request) -> Response:
    return Response(headers={"allow": ", ".join(self._allowed_methods)})


async def query_echo(self: Any, request: Request) -> Response:
    return PlainTextResponse(f"QUERY {(await request.body()).decode()}")


async def custom_not_allowed(self: Any, request: Request) -> Response:
    return JSONResponse({"allowed": self._allowed_methods, "method": request.method}, status_code=405)


def sync_not_allowed(self: Any, request: Request) -> Response:
    return PlainTextResponse("sync 405", status_code=405)


async def raise_value_error(self: Any, request: Request) -> Response:
    raise ValueError("boom")


async def raise_http_exception(self: Any, request: Request) -> Response:
    raise HTTPException(404, "missing", headers={"x-why": "gone"})


def return_none(self: Any, request: Request) -> None:
    return None


async def send_hints(self: Any, request: Request) -> Response:
    await request.send_early_hints("</a.css>; rel=preload")
    return PlainTextResponse("hinted")


async def stream(self: Any, request: Request) -> Response:
    return StreamingResponse(iter([b"one ", b"two"]), media_type="text/plain")


async def plain_async(prefix: str, request: Request) -> Response:
    return PlainTextResponse(f"{prefix} {request.method}")


class AsyncCallable:
    async def __call__(self, request: Request) -> Response:
        return PlainTextResponse("async callable")


class SyncCallable:
    def __call__(self, request: Request) -> Response:
        return PlainTextResponse("sync callable")


def marked_coroutine_function() -> Callable[..., Any]:
    """A plain function returning an awaitable, marked the way asyncio.iscoroutinefunction recognises."""

    def handler(request: Request) -> Any:
        return plain_async("marked", request)

    handler._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
    return handler


def late_handlers() -> dict[str, Any]:
    def __init__(self: Any, scope: Any, receive: Any, send: Any) -> None:
        self.post = self.create  # an instance attribute counts, as Starlette reads the instance
        type(self).__mro__[1].__init__(self, scope, receive, send)

    async def create(self: Any, request: Request) -> Response:
        return PlainTextResponse("created late")

    return {"__init__": __init__, "create": create}


HTTP_CLASSES: dict[str, Body] = {
    "get": lambda: {"get": get_text},
    "get_sync": lambda: {"get": get_sync},
    "head_only": lambda: {"head": head_own},
    "crud": lambda: {
        "get": get_text,
        "post": post_echo,
        "put": put_json,
        "patch": patch_sync,
        "delete": delete_no_content,
    },
    "everything": lambda: {
        "query": query_echo,
        "options": options_allow,
        "delete": delete_no_content,
        "patch": patch_sync,
        "put": put_json,
        "post": post_echo,
        "head": head_own,
        "get": get_text,
    },
    "options_query": lambda: {"options": options_allow, "query": query_echo},
    "empty": lambda: {},
    "none_handlers": lambda: {"get": get_text, "post": None, "head": None},
    "custom_405": lambda: {"post": post_echo, "method_not_allowed": custom_not_allowed},
    "sync_405": lambda: {"get": get_sync, "method_not_allowed": sync_not_allowed},
    "failing": lambda: {"get": raise_value_error, "post": raise_http_exception, "put": return_none},
    "early_hints": lambda: {"get": send_hints},
    "streaming": lambda: {"get": stream, "post": stream},
    "async_mock": lambda: {"get": AsyncMock(return_value=PlainTextResponse("mocked"))},
    "partial": lambda: {"get": functools.partial(plain_async, "partial")},
    "callable_objects": lambda: {"get": AsyncCallable(), "post": SyncCallable()},
    "marked_coroutine_function": lambda: {"get": staticmethod(marked_coroutine_function())},
    "misspelt": lambda: {"gett": get_text, "Post": post_echo, "on_recieve": get_text},
    "late_instance_handler": late_handlers,
    "dunder_method_names": lambda: {"get": get_text, "_do_delete": get_text, "trace": get_text},
}


def custom_handler_app(cls: type) -> Starlette:
    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def crash(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"handled {exc!r}", status_code=599)

    return Starlette(
        routes=[Route("/items/{id}", cls)], exception_handlers={HTTPException: problem, ValueError: crash}
    )


HTTP_MOUNTS: dict[str, Callable[[type], Any]] = {
    "bare": lambda cls: cls,
    "route": lambda cls: Route("/items/{id}", cls),
    "router": lambda cls: Router(routes=[Route("/items/{id}", cls)]),
    "starlette": lambda cls: Starlette(routes=[Route("/items/{id}", cls)]),
    "starlette_custom_handlers": custom_handler_app,
}

TEXT = [(b"content-type", b"text/plain")]
HINTS = {"http.response.early_hint": {}}

HTTP_REQUESTS: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    ("GET", {}, [http_request()]),
    ("HEAD", {}, [http_request()]),
    ("GET", {"extensions": HINTS}, [http_request()]),
    ("POST", {"headers": TEXT}, [http_request(b"hel", more_body=True), http_request(b"lo")]),
    ("PUT", {}, [http_request(b'{"a": [1, 2]}')]),
    ("PUT", {}, [http_request(b"{not json")]),
    ("PATCH", {}, [http_request()]),
    ("DELETE", {}, [http_request()]),
    ("OPTIONS", {}, [http_request()]),
    ("QUERY", {}, [http_request(b"select *")]),
    ("TRACE", {}, [http_request()]),
    ("CONNECT", {}, [http_request()]),
    ("get", {}, [http_request()]),
    ("Post", {}, [http_request()]),
    ("_DO_DELETE", {}, [http_request()]),
    ("GETT", {}, [http_request()]),
]


@pytest.mark.parametrize("mount", list(HTTP_MOUNTS))
@pytest.mark.parametrize("class_name", list(HTTP_CLASSES))
async def test_http_endpoints_behave_identically(class_name: str, mount: str) -> None:
    differences = []
    for method, scope_options, inputs in HTTP_REQUESTS:
        scope = http_scope(method, "/items/7", **scope_options)
        outcomes = await run_both("http", HTTP_CLASSES[class_name], HTTP_MOUNTS[mount], scope, inputs)
        if outcomes["starlette"] != outcomes["playground"]:
            differences.append((method, scope_options, outcomes))
    assert differences == []


# --- WebSocket hooks ----------------------------------------------------------------------------------


async def record_receive(self: Any, websocket: WebSocket, data: Any) -> None:
    self.calls.append(("receive", data))


async def record_disconnect(self: Any, websocket: WebSocket, close_code: int) -> None:
    self.calls.append(("disconnect", close_code))


async def echo(self: Any, websocket: WebSocket, data: Any) -> None:
    self.calls.append(("receive", data))
    if isinstance(data, bytes):
        await websocket.send_bytes(data)
    elif isinstance(data, str):
        await websocket.send_text(data)
    else:
        await websocket.send_json(data)


async def accept_first_subprotocol(self: Any, websocket: WebSocket) -> None:
    subprotocols = websocket.scope["subprotocols"]
    await websocket.accept(subprotocol=subprotocols[0] if subprotocols else None, headers=[(b"x-room", b"1")])


async def deny(self: Any, websocket: WebSocket) -> None:
    await websocket.close(code=1008, reason="no entry")


async def connect_raises(self: Any, websocket: WebSocket) -> None:
    raise PermissionError("no token")


async def receive_raises(self: Any, websocket: WebSocket, data: Any) -> None:
    raise ValueError(f"cannot handle {data!r}")


async def disconnect_raises(self: Any, websocket: WebSocket, close_code: int) -> None:
    self.calls.append(("disconnect", close_code))
    raise KeyError("cleanup")


async def send_on_disconnect(self: Any, websocket: WebSocket, close_code: int) -> None:
    await websocket.send_text(f"bye {close_code}")


def recording(encoding: str | None, **hooks: Any) -> Body:
    return lambda: {
        "encoding": encoding,
        "on_receive": record_receive,
        "on_disconnect": record_disconnect,
        **hooks,
    }


WEBSOCKET_CLASSES: dict[str, Body] = {
    "defaults": lambda: {},
    "defaults_json": lambda: {"encoding": "json"},
    "record_none": recording(None),
    "record_text": recording("text"),
    "record_bytes": recording("bytes"),
    "record_json": recording("json"),
    "echo_none": recording(None, on_receive=echo),
    "echo_json": recording("json", on_receive=echo),
    "subprotocol": recording(None, on_connect=accept_first_subprotocol),
    "deny": recording(None, on_connect=deny),
    "connect_raises": recording(None, on_connect=connect_raises),
    "receive_raises": recording("text", on_receive=receive_raises),
    "disconnect_raises": recording("bytes", on_disconnect=disconnect_raises),
    "send_on_disconnect": recording("text", on_disconnect=send_on_disconnect),
    "misspelt": recording("text", on_recieve=echo, On_Connect=deny),
}

WEBSOCKET_MOUNTS: dict[str, Callable[[type], Any]] = {
    "bare": lambda cls: cls,
    "websocket_route": lambda cls: WebSocketRoute("/ws/{room}", cls),
    "starlette": lambda cls: Starlette(routes=[WebSocketRoute("/ws/{room}", cls)]),
}

CONNECT = {"type": "websocket.connect"}


def disconnect(code: int | None = 1000, **extra: Any) -> dict[str, Any]:
    message = {"type": "websocket.disconnect", **extra}
    if code is not None:
        message["code"] = code
    return message


def text(value: str | None, bytes_: bytes | None = None) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": value, "bytes": bytes_}


def binary(value: bytes | None) -> dict[str, Any]:
    return {"type": "websocket.receive", "bytes": value}


WEBSOCKET_SESSIONS: list[list[dict[str, Any]]] = [
    [CONNECT, disconnect()],
    [CONNECT, text("hi"), disconnect(1001)],
    [CONNECT, binary(b"hi"), disconnect()],
    [CONNECT, text('{"a": 1}'), binary(b"[1, 2]"), disconnect(None)],
    [CONNECT, text(""), disconnect(0)],
    [CONNECT, binary(b""), disconnect(4000, reason="done")],
    [CONNECT, binary(b"\xff\xfe"), disconnect()],
    [CONNECT, text("{"), disconnect()],
    [CONNECT, text(None, b"both-keys"), disconnect()],
    [CONNECT, text("both-keys", None), disconnect()],
    [CONNECT, text("", b"ignored"), disconnect()],
    [CONNECT, text("1"), text("2"), text("3"), disconnect(1001, reason="away")],
    [CONNECT, {"type": "websocket.unexpected"}, disconnect()],
    [disconnect(1006)],
]


@pytest.mark.parametrize("mount", list(WEBSOCKET_MOUNTS))
@pytest.mark.parametrize("class_name", list(WEBSOCKET_CLASSES))
async def test_websocket_endpoints_behave_identically(class_name: str, mount: str) -> None:
    differences = []
    for inputs in WEBSOCKET_SESSIONS:
        scope = websocket_scope("/ws/lobby", subprotocols=["chat", "superchat"])
        outcomes = await run_both(
            "websocket", WEBSOCKET_CLASSES[class_name], WEBSOCKET_MOUNTS[mount], scope, inputs
        )
        if outcomes["starlette"] != outcomes["playground"]:
            differences.append((inputs, outcomes))
    assert differences == []


# --- the comparison itself can tell implementations apart --------------------------------------------------


async def test_the_comparison_detects_a_difference() -> None:
    """A deliberately different endpoint must show up as a difference, or the tests above prove nothing."""

    async def different_close(self: Any, websocket: WebSocket, close_code: int) -> None:
        ours = isinstance(self, playground.endpoints.WebSocketEndpoint)
        self.calls.append(("disconnect", close_code + 1 if ours else close_code))

    body = recording(None, on_disconnect=different_close)
    outcomes = await run_both(
        "websocket", body, WEBSOCKET_MOUNTS["bare"], websocket_scope(), [CONNECT, disconnect()]
    )
    assert outcomes["starlette"]["calls"] == [("disconnect", 1000)]
    assert outcomes["playground"]["calls"] == [("disconnect", 1001)]
    assert outcomes["starlette"]["events"] == outcomes["playground"]["events"]
