"""Class-based endpoints: one class per resource, one method per HTTP verb or WebSocket event.

The behaviour follows Starlette 1.10's ``starlette.endpoints`` point by point, so code written here
runs unchanged there. Each class is itself an ASGI application: ``Endpoint(scope, receive, send)``
builds an instance and awaiting it handles the connection.

Beyond Starlette, for learners: a wrong ``encoding`` fails when the class is defined, a handler name
that looks like a misspelt verb warns, and ``allowed_methods()`` answers without a request.

PYTEST_DONT_REWRITE: the asserts below are Starlette's behaviour, messages included. The package
ships a pytest plugin, so pytest would otherwise rewrite them in every test run.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Generator
from typing import Any, Literal

if sys.version_info >= (3, 13):
    from inspect import iscoroutinefunction
else:
    # As in Starlette: before 3.13, asyncio's version, which also knows functions carrying its marker.
    from asyncio import iscoroutinefunction

from starlette import status
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from ._spelling import EndpointWarning, warn_misspelt_handlers

__all__ = ["EndpointWarning", "HTTPEndpoint", "WebSocketEndpoint"]

# The order of this tuple is the order of the ``Allow`` header.
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")
ENCODINGS = (None, "text", "bytes", "json")
# Each hook with the number of arguments it receives after ``self``.
WEBSOCKET_HOOKS = {"on_connect": 1, "on_receive": 2, "on_disconnect": 2}


def _is_async_callable(obj: Any) -> bool:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return iscoroutinefunction(obj) or (callable(obj) and iscoroutinefunction(obj.__call__))


# -- what a class answers: the one place the rules are written (dispatch and the display read them) --


def allowed_methods_of(endpoint: Any) -> list[str]:
    """The methods an endpoint class or instance answers, in ``Allow`` header order.

    Starlette's rule, so it answers for Starlette's own ``HTTPEndpoint`` subclasses too: a method is
    allowed when its lower-case handler is there; HEAD also when ``get`` is.
    """
    return [
        method
        for method in HTTP_METHODS
        if getattr(endpoint, method.lower(), None) is not None
        or (method == "HEAD" and getattr(endpoint, "get", None) is not None)
    ]


def handler_name(endpoint: Any, method: str) -> str:
    """The name of the handler that answers an allowed ``method``: HEAD without ``head`` is ``get``'s."""
    return "get" if method == "HEAD" and not hasattr(endpoint, "head") else method.lower()


#: What each kind of endpoint is called, and what a connection of that kind needs instead.
_KINDS = {
    "http": ("an HTTPEndpoint", "HTTP requests need an HTTPEndpoint"),
    "websocket": ("a WebSocketEndpoint", "a WebSocket needs a WebSocketEndpoint"),
}


def _wrong_connection(endpoint: object, got: str, kind: str) -> str:
    """The message of Starlette's bare assert on the scope's type: mounting the wrong kind is a common slip."""
    needs = _KINDS[got][1] if got in _KINDS else "an endpoint answers only its own kind of connection"
    return f"{type(endpoint).__qualname__} is {_KINDS[kind][0]}; it got a {got!r} connection ({needs})"


class HTTPEndpoint:
    """Dispatches an HTTP request to the method named after its verb (``get``, ``post``, ...)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        warn_misspelt_handlers(cls, {method.lower(): 1 for method in HTTP_METHODS}, "HTTP method handler")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http", _wrong_connection(self, scope["type"], "http")
        self.scope = scope
        self.receive = receive
        self.send = send
        # Asked of the instance, as Starlette does, so handlers set in a subclass ``__init__`` count.
        self._allowed_methods = allowed_methods_of(self)

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The methods this class answers, in ``Allow`` header order; HEAD comes with GET."""
        return allowed_methods_of(cls)

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        request = Request(self.scope, receive=self.receive, send=self.send)
        handler: Callable[[Request], Any]
        if request.method in self._allowed_methods:
            # HEAD without its own handler is answered by ``get``; the server drops the body.
            handler = getattr(self, handler_name(self, request.method))
        else:
            handler = self.method_not_allowed
        if _is_async_callable(handler):
            response = await handler(request)
        else:
            # A plain ``def`` handler may block; it runs in a worker thread so the loop stays free.
            response = await run_in_threadpool(handler, request)
        await response(self.scope, self.receive, self.send)

    async def method_not_allowed(self, request: Request) -> Response:
        headers = {"Allow": ", ".join(self._allowed_methods)}
        # Inside a Starlette app, raise so the app's exception handlers shape the 405.
        if "app" in self.scope:
            raise HTTPException(status_code=405, headers=headers)
        return PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)


class WebSocketEndpoint:
    """A WebSocket session as three hooks: ``on_connect``, ``on_receive`` and ``on_disconnect``.

    ``encoding`` checks each incoming message: ``"text"``, ``"bytes"``, ``"json"`` (text or UTF-8
    bytes), or ``None`` to pass text or bytes on as they came.
    """

    encoding: Literal["text", "bytes", "json"] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.encoding not in ENCODINGS:
            valid = ", ".join(repr(e) for e in ENCODINGS)
            raise ValueError(
                f"{cls.__qualname__}.encoding = {cls.encoding!r} is not a WebSocket encoding; "
                f"use one of {valid}."
            )
        warn_misspelt_handlers(cls, WEBSOCKET_HOOKS, "WebSocket hook")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket", _wrong_connection(self, scope["type"], "websocket")
        self.scope = scope
        self.receive = receive
        self.send = send

    def __await__(self) -> Generator[Any, None, None]:
        return self.dispatch().__await__()

    async def dispatch(self) -> None:
        websocket = WebSocket(self.scope, receive=self.receive, send=self.send)
        await self.on_connect(websocket)

        close_code = status.WS_1000_NORMAL_CLOSURE
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.receive":
                    data = await self.decode(websocket, message)
                    await self.on_receive(websocket, data)
                elif message["type"] == "websocket.disconnect":
                    # A missing code, or 0, means a normal closure.
                    close_code = int(message.get("code") or status.WS_1000_NORMAL_CLOSURE)
                    break
        except Exception:
            close_code = status.WS_1011_INTERNAL_ERROR
            raise
        finally:
            await self.on_disconnect(websocket, close_code)

    async def decode(self, websocket: WebSocket, message: Message) -> Any:
        if self.encoding == "text":
            if message.get("text") is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected text websocket messages, but got bytes")
            return message["text"]

        if self.encoding == "bytes":
            if message.get("bytes") is None:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Expected bytes websocket messages, but got text")
            return message["bytes"]

        if self.encoding == "json":
            # Invalid UTF-8 raises UnicodeDecodeError here, as in Starlette.
            text = message["text"] if message.get("text") is not None else message["bytes"].decode("utf-8")
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                await websocket.close(code=status.WS_1003_UNSUPPORTED_DATA)
                raise RuntimeError("Malformed JSON data received.")  # noqa: B904 (the JSON error stays as context)

        assert self.encoding is None, f"Unsupported 'encoding' attribute {self.encoding}"
        return message["text"] if message.get("text") is not None else message["bytes"]

    async def on_connect(self, websocket: WebSocket) -> None:
        """Override to handle an incoming connection; the default accepts it."""
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        """Override to handle an incoming message, already decoded as ``encoding`` says."""

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Override to clean up; ``close_code`` is the client's, or 1011 when the session failed."""


if sys.platform == "emscripten":
    from ._browser import run_threads_inline

    # No threads in Pyodide: plain ``def`` handlers, ours and Starlette's, run inline instead.
    run_threads_inline()
