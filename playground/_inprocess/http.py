"""Driving one HTTP request through an ASGI app in-process.

The app runs as its own task. It gets the request body from ``receive()``; what it passes to ``send()``
is checked against the protocol, recorded in the trace, and queued for the client side, which turns it
into an httpx ``Response`` (all at once, or lazily for ``stream()``).
"""

from __future__ import annotations

import datetime
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .._asgi import ASGIApp
from ..errors import ASGIProtocolError, ClientDisconnected
from ..response import Response, read_body
from ..trace import Trace
from .app_task import APP_ENDED, AppTask
from .channel import Channel

HTTP_SEND_TYPES = frozenset(
    {"http.response.start", "http.response.body", "http.response.trailers", "http.response.debug",
     "http.response.early_hint"}
)
_END = ("end",)  # queued when the response is complete


class HTTPExchange:
    """The server side of one request: the ``receive`` and ``send`` the app is called with."""

    def __init__(
        self, app: ASGIApp, scope: dict[str, Any], request: httpx.Request, *, timeout: float | None,
        grace: float, raise_app_exceptions: bool,
    ) -> None:
        self.request = request
        self.timeout = timeout
        self.grace = grace
        self.raise_app_exceptions = raise_app_exceptions
        self.trace = Trace(scope)
        self.events: Channel[tuple[Any, ...]] = Channel()
        self.task = AppTask(app, scope, self.receive, self.send, self.trace, self.events)
        self._request_sent = False
        self._closed: Channel[bool] = Channel()  # holds an item once the response is complete or the client left
        self.client_left = False
        self.started = False
        self.body_complete = False
        self.complete = False
        self.trailers_expected = False
        self.status_code = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.early_hints: list[bytes] = []
        self.debug_info: dict[str, Any] | None = None
        self.started_at = self.trace.started_at

    # -- the app's side ---------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        if not self._request_sent:
            self._request_sent = True
            message = {"type": "http.request", "body": self.request.content, "more_body": False}
        else:
            # Nothing more to read: the next event is the connection closing.
            if not (self.complete or self.client_left):
                await self._closed.wait()
            message = {"type": "http.disconnect"}
        self.trace.record("receive", message)
        return message

    async def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in HTTP_SEND_TYPES:
            if kind == "http.response.push" and "http.response.push" in self.trace.scope.get("extensions", ()):
                # The scope offers server push (the app put it there): a client may refuse pushes, as
                # HTTP/2 lets it; this one records the promise and fetches nothing.
                self.trace.record("send", message)
                return
            raise ASGIProtocolError(
                f"the app sent {message!r:.80}, which is not an HTTP message; expected one of "
                + ", ".join(sorted(HTTP_SEND_TYPES))
            )
        if self.client_left:
            raise ClientDisconnected(f"cannot send {kind!r}: the client has disconnected")
        if self.complete:
            raise ASGIProtocolError(f"the app sent {kind!r} after the response was complete")
        self.trace.record("send", message)
        if kind == "http.response.start":
            if self.started:
                raise ASGIProtocolError("the app sent 'http.response.start' twice")
            self._start(message)
        elif kind == "http.response.body":
            if not self.started:
                raise ASGIProtocolError("the app sent 'http.response.body' before 'http.response.start'")
            body = message.get("body", b"")
            if not isinstance(body, (bytes, bytearray, memoryview)):
                raise ASGIProtocolError(f"'http.response.body' needs bytes for 'body', got {type(body).__name__}")
            more = bool(message.get("more_body", False))
            if not more:
                self.body_complete = True
                self.complete = not self.trailers_expected
            self.events.put(("body", bytes(body), more))
            if self.complete:
                self.events.put(_END)
                self._set_closed()
        elif kind == "http.response.trailers":
            if not self.trailers_expected:
                raise ASGIProtocolError("the app sent trailers without 'trailers': True in 'http.response.start'")
            if not self.body_complete:
                raise ASGIProtocolError("the app sent 'http.response.trailers' before the body was complete")
            self.trailers.extend(message.get("headers", []))
            if not message.get("more_trailers", False):
                self.complete = True
                self.events.put(_END)
                self._set_closed()
        elif kind == "http.response.early_hint":
            if self.started:
                raise ASGIProtocolError("the app sent an early hint after 'http.response.start'")
            self.early_hints.extend(message.get("links", []))
        else:  # http.response.debug: template and context, for tests
            self.debug_info = message.get("info")

    def _start(self, message: dict[str, Any]) -> None:
        status = message.get("status")
        if not isinstance(status, int) or not 100 <= status <= 999:
            raise ASGIProtocolError(f"'http.response.start' needs an integer 'status', got {status!r}")
        headers = list(message.get("headers", ()))
        for pair in headers:
            if len(pair) != 2 or type(pair[0]) is not bytes or type(pair[1]) is not bytes:
                raise ASGIProtocolError(f"response headers must be pairs of bytes, got {pair!r}")
        self.started = True
        self.status_code = status
        self.headers = headers  # type: ignore[assignment]
        self.trailers_expected = bool(message.get("trailers", False))
        self.events.put(("start",))

    def _set_closed(self) -> None:
        if not self._closed:
            self._closed.put(True)

    # -- the client's side ------------------------------------------------------------------------

    async def next_event(self, phase: str) -> tuple[Any, ...]:
        """The app's next event, or ``AppTimeout`` (the app cancelled) when none comes in time."""
        __tracebackhide__ = True
        return await self.task.next_from(self.events, phase, self.timeout, self.grace)

    def app_failed(self) -> BaseException | None:
        """The app's exception when the caller should see it."""
        if self.task.exception is not None and self.raise_app_exceptions:
            return self.task.exception
        return None

    def missing_response_error(self) -> ASGIProtocolError:
        ended = self.task.ended_as
        if not self.started:
            return ASGIProtocolError(f"{ended} without sending 'http.response.start'")
        if not self.body_complete:
            return ASGIProtocolError(f"{ended} before the response body was complete (more_body=True)")
        return ASGIProtocolError(f"{ended} before sending the trailers it announced")

    async def wait_app_return(self) -> None:
        """After the response: let the app finish (background tasks run here) and raise its error."""
        __tracebackhide__ = True
        await self.task.finish_within("app to return after the response", self.timeout, self.grace)
        error = self.app_failed()
        if error is not None:
            raise error

    async def disconnect(self) -> None:
        """The client leaves before the response is complete: tell the app, then cancel after a grace."""
        __tracebackhide__ = True
        if not self.complete and not self.task.finished:
            self.client_left = True
            self._set_closed()
            await self.task.wind_down(self.grace)

    def build_response(self, stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> Response:
        response = Response(self.status_code, headers=self.headers, stream=stream, request=self.request)
        response.trace = self.trace
        response.early_hints = self.early_hints
        response.trailers = self.trailers
        if self.debug_info is not None:
            response.template = self.debug_info.get("template")
            response.context = self.debug_info.get("context")
        return response

    def set_elapsed(self, response: Response) -> None:
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self.started_at)


def server_error(request: httpx.Request, trace: Trace, exception: BaseException | None) -> Response:
    """The 500 a server sends for an app that crashed before its response started, in uvicorn's words;
    for an HTTP request, and for a WebSocket handshake the app neither accepted nor denied."""
    response = Response(500, text="Internal Server Error", request=request)
    response.trace = trace
    response.app_exception = exception
    return response


async def exchange(exchange: HTTPExchange) -> Response:
    """Run the whole request and return the response with its body read."""
    __tracebackhide__ = True
    exchange.task.start()
    chunks: list[bytes] = []
    try:
        while True:
            event = await exchange.next_event("response body" if exchange.started else "response start")
            if event[0] == "body":
                chunks.append(event[1])
            elif event is _END or event is APP_ENDED:
                break
        if not exchange.complete:  # the app's call ended first
            error = exchange.app_failed()
            if error is not None:
                raise error
            if exchange.task.exception is not None and not exchange.started:
                return server_error(exchange.request, exchange.trace, exchange.task.exception)
            if exchange.task.exception is None:
                raise exchange.missing_response_error()
        else:
            await exchange.wait_app_return()
    finally:
        if not exchange.task.finished:
            await exchange.task.abandon(exchange.grace)
    body = b"".join(chunks)
    if exchange.request.method == "HEAD":
        body = b""  # as on the wire: a HEAD response has no body, whatever the app sent
    response = exchange.build_response(httpx.ByteStream(b""))
    read_body(response, body)
    response.app_exception = exchange.task.exception
    exchange.set_elapsed(response)
    return response


class AppBodyStream(httpx.AsyncByteStream):
    """The response body as the app sends it, chunk by chunk, read only when the caller asks."""

    def __init__(self, exchange: HTTPExchange) -> None:
        self.exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        __tracebackhide__ = True
        exchange = self.exchange
        if exchange.request.method == "HEAD":
            return
        while True:
            event = await exchange.next_event("response body")
            if event[0] == "body":
                if event[1]:
                    yield event[1]
            elif event is _END:
                break
            elif event is APP_ENDED:
                if exchange.complete:
                    break
                error = exchange.app_failed()
                if error is not None:
                    raise error
                if exchange.task.exception is None:
                    raise exchange.missing_response_error()
                break

    async def aclose(self) -> None:
        __tracebackhide__ = True
        exchange = self.exchange
        error = None
        if exchange.complete or exchange.task.finished:
            await exchange.wait_app_return()
            error = exchange.task.exception  # not raised (raise_app_exceptions=False): it rides along
        else:
            await exchange.disconnect()
        response = self.response()
        if response is not None:
            if error is not None:
                response.app_exception = error
            exchange.set_elapsed(response)

    async def abort(self) -> None:
        """Cancel the app now, body read or not (its client is closing with the response still open)."""
        __tracebackhide__ = True
        await self.exchange.task.abandon(self.exchange.grace)
        await self.aclose()

    # The response holds this stream: a weak reference back, so that the two are freed together as
    # soon as nobody holds the response, without waiting for the garbage collector.
    response: weakref.ref[Response]


async def open_stream(exchange: HTTPExchange) -> Response:
    """Run the request until the response starts; the body is read later through the stream."""
    __tracebackhide__ = True
    exchange.task.start()
    try:
        while not exchange.started:
            event = await exchange.next_event("response start")
            if event is APP_ENDED:
                error = exchange.app_failed()
                if error is not None:
                    raise error
                if exchange.task.exception is not None:
                    return server_error(exchange.request, exchange.trace, exchange.task.exception)
                raise exchange.missing_response_error()
    except BaseException:
        if not exchange.task.finished:
            await exchange.task.abandon(exchange.grace)
        raise
    # Events queued behind the start (early body chunks) stay in the channel for the stream.
    stream = AppBodyStream(exchange)
    response = exchange.build_response(stream)
    stream.response = weakref.ref(response)
    return response
