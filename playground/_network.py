"""The network transport: ``Client(url)`` over real sockets, httpx for HTTP and websockets for WebSockets.

The API and the results are the in-process ones; the traces hold what a client can see on the wire,
written as the ASGI messages they correspond to (``Trace.seen_from == "client"``): the request as
``http.request``, the response as ``http.response.start`` and ``http.response.body``; for a WebSocket,
the client's messages as ``websocket.receive`` (what the app receives) and the server's as
``websocket.send`` and ``websocket.close``. What happens inside the server is not visible here:
its log is (``server.logs`` for a server started by ``serve()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from ._browser import IN_BROWSER, live_mode_unavailable
from ._inprocess.scope import http_scope, parse_subprotocols, websocket_scope, websocket_url
from .errors import AppTimeout, MessageTooLarge, WebSocketDenied, WebSocketDisconnect
from .response import Response
from .trace import Trace
from .websocket import WebSocketSession

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection
    from websockets.exceptions import ConnectionClosed

__all__ = ["NetworkTransport", "NetworkWebSocketSession"]

# Headers the websockets library writes itself for the opening handshake.
_HANDSHAKE_HEADERS = frozenset({
    "host", "connection", "upgrade", "content-length", "user-agent", "sec-websocket-key",
    "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions",
})


class NetworkTransport:
    """Requests and WebSocket sessions to a server at ``url``."""

    def __init__(self, url: str, *, max_message_size: int | None) -> None:
        if IN_BROWSER:
            raise live_mode_unavailable(f"Client({url!r})")
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"Client(url) needs an http:// or https:// URL with a host, got {url!r}")
        self.url = url
        self.max_message_size = max_message_size
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            # No environment proxies or .netrc: the playground talks to the URL it was given.
            self._client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(), trust_env=False,
                                             timeout=None, follow_redirects=False)
        return self._client

    async def request(self, request: httpx.Request, *, timeout: float | None, stream: bool) -> Response:
        __tracebackhide__ = True
        trace = Trace(http_scope(request, client=None, state=None), seen_from="client")  # type: ignore[arg-type]
        trace.record("receive", {"type": "http.request", "body": request.content, "more_body": False})
        request.extensions = {**request.extensions, "timeout": httpx.Timeout(timeout).as_dict(),
                              "playground.trace": trace}
        http = self._http()
        started = time.perf_counter()
        try:
            raw = await http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            trace.finish("timed out")
            raise AppTimeout("response start", timeout or 0.0, detail=(
                f"no response from {request.url.scheme}://{request.url.netloc.decode('ascii')} "
                "(over the network the client cannot see where the app waits; the server's log may say)"
            )) from exc
        except httpx.TransportError:
            trace.finish("connection failed")
            raise
        stream_info = raw.extensions.get("network_stream")
        if stream_info is not None:
            trace.scope["client"] = stream_info.get_extra_info("client_addr")
        trace.record("send", {"type": "http.response.start", "status": raw.status_code,
                              "headers": [(name.lower(), value) for name, value in raw.headers.raw]})
        body = NetworkBodyStream(raw, trace, timeout, started)
        response = Response(raw.status_code, headers=raw.headers.raw, stream=body, request=request,
                            extensions=raw.extensions)
        response.trace = trace
        body.response = response
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    def websocket(self, request: httpx.Request, *, timeout: float | None) -> NetworkWebSocketSession:
        return NetworkWebSocketSession(request, timeout=timeout, max_message_size=self.max_message_size)

    async def startup(self, timeout: float | None) -> None:
        """Nothing to do: a server runs its app's lifespan itself, where the client cannot see it."""
        __tracebackhide__ = True

    async def shutdown(self) -> None:
        __tracebackhide__ = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    @property
    def state(self) -> None:
        """None: the server's app keeps its lifespan state where a client cannot see it."""
        return None

    def describe(self) -> str:
        return "network"


class NetworkBodyStream(httpx.AsyncByteStream):
    """The body as it arrives from the socket, recorded chunk by chunk, read when the caller asks."""

    response: Response

    def __init__(self, raw: httpx.Response, trace: Trace, timeout: float | None, started: float) -> None:
        self.raw = raw
        self.trace = trace
        self.timeout = timeout
        self.started = started
        self.complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # One chunk is held back, so the last one can be recorded with more_body False, as an app sends it.
        held: bytes | None = None
        try:
            async for chunk in self.raw.aiter_raw():
                if held is not None:
                    self.trace.record("send", {"type": "http.response.body", "body": held, "more_body": True})
                    yield held
                held = chunk
        except httpx.TimeoutException as exc:
            raise AppTimeout("response body", self.timeout or 0.0, detail=(
                "the server sent no more of the body (over the network the client cannot see where the "
                "app waits)"
            )) from exc
        self.complete = True
        self.trace.record("send", {"type": "http.response.body", "body": held or b"", "more_body": False})
        if held:
            yield held

    async def aclose(self) -> None:
        await self.raw.aclose()
        self.trace.finish("complete" if self.complete else "client left")
        self.response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self.started)


class NetworkWebSocketSession(WebSocketSession):
    """A WebSocket session over a real connection (the websockets library's asyncio client)."""

    peer = "server"  # a close frame could be the app's or the server's own (1001 when it shuts down)

    def __init__(self, request: httpx.Request, *, timeout: float | None, max_message_size: int | None) -> None:
        super().__init__(websocket_url(request.url), timeout=timeout, max_message_size=max_message_size)
        self.request = request
        self.trace = Trace(websocket_scope(request, client=None, state=None),  # type: ignore[arg-type]
                           seen_from="client")
        self.connection: ClientConnection | None = None
        self._pending: deque[dict[str, Any]] = deque()
        self._close_message: dict[str, Any] | None = None

    async def connect(self) -> None:
        __tracebackhide__ = True
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        headers = [(name, value) for name, value in self.request.headers.multi_items()
                   if name.lower() not in _HANDSHAKE_HEADERS]
        subprotocols = parse_subprotocols(self.request.headers.get_list("sec-websocket-protocol"))
        self.trace.record("receive", {"type": "websocket.connect"})
        try:
            self.connection = await connect(
                self.url, subprotocols=subprotocols or None, additional_headers=headers,  # type: ignore[arg-type]
                user_agent_header=self.request.headers.get("user-agent"), proxy=None,
                open_timeout=self.timeout, close_timeout=self.timeout, max_size=self.max_message_size,
            )
        except InvalidStatus as exc:
            answer = exc.response
            response = Response(answer.status_code, headers=list(answer.headers.raw_items()),
                                content=bytes(answer.body or b""), request=self.request)
            response.trace = self.trace
            self.trace.record("send", {"type": "websocket.http.response.start", "status": answer.status_code,
                                       "headers": response.headers.raw})
            response.elapsed = datetime.timedelta(seconds=self.trace.events[-1].offset)
            self.trace.finish("denied")
            self.closed_by, self.close_code = "app", None
            raise WebSocketDenied(response=response) from None
        except TimeoutError as exc:
            self.trace.finish("timed out")
            self.closed_by, self.close_code = "client", 1006
            raise AppTimeout("WebSocket accept", self.timeout or 0.0, detail=(
                "the server did not finish the opening handshake (over the network the client cannot "
                "see where the app waits)"
            )) from exc
        except BaseException:
            self.trace.finish("connection failed")
            raise
        connection = self.connection
        self.trace.scope["client"] = connection.local_address[:2]
        self.trace.scope["headers"] = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                                       for name, value in connection.request.headers.raw_items()]  # type: ignore[union-attr]
        self.accepted = True
        self.accepted_subprotocol = connection.subprotocol
        self.accept_headers = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                               for name, value in connection.response.headers.raw_items()]  # type: ignore[union-attr]
        self.trace.record("send", {"type": "websocket.accept", "subprotocol": connection.subprotocol,
                                   "headers": self.accept_headers})

    def _connected(self) -> ClientConnection:
        if self.connection is None:
            raise RuntimeError("the WebSocket is not connected yet: use 'async with client.websocket_connect(...)'")
        return self.connection

    async def _send(self, message: dict[str, Any]) -> None:
        __tracebackhide__ = True
        connection = self._connected()
        text, data = message.get("text"), message.get("bytes")
        if self.closed_by == "client":
            raise RuntimeError(f"cannot send: the client closed this WebSocket (code {self.close_code})")
        if self.closed:
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason, peer=self.peer)
        from websockets.exceptions import ConnectionClosed

        try:
            async with asyncio.timeout(self.timeout):
                await connection.send(text if text is not None else data)
        except ConnectionClosed as exc:
            close = self._closed_by(exc)
            raise WebSocketDisconnect(close["code"], close["reason"] or None, peer=self.peer) from None
        except TimeoutError as exc:
            raise AppTimeout("WebSocket send", self.timeout or 0.0, detail=(
                "the server is not reading what the client sends"
            )) from exc
        self.trace.record("receive", message)

    async def receive(self, timeout: float | None = None) -> dict[str, Any]:
        __tracebackhide__ = True
        connection = self._connected()
        timeout = self._receive_timeout(timeout)
        if self._pending:
            return self._pending.popleft()
        if self._close_message is not None:
            return self._close_message
        from websockets.exceptions import ConnectionClosed

        try:
            async with asyncio.timeout(timeout):
                data = await connection.recv()
        except ConnectionClosed as exc:
            close = self._closed_by(exc)
            if exc.sent is not None and exc.sent.code == 1009 and not exc.rcvd_then_sent:
                raise MessageTooLarge(
                    f"the server sent a message larger than max_message_size={self.max_message_size:,} "
                    "bytes; the client closed the WebSocket with code 1009"
                ) from None
            return close
        except TimeoutError as exc:
            raise AppTimeout("WebSocket receive", timeout or 0.0, detail=(
                "the server sent nothing; the session is still open"
            )) from exc
        message = {"type": "websocket.send", "text": data} if isinstance(data, str) else {
            "type": "websocket.send", "bytes": data}
        self.trace.record("send", message)
        return message

    def _closed_by(self, exc: ConnectionClosed) -> dict[str, Any]:
        """Record how the connection ended, once; the server's close message, for every later receive."""
        if self._close_message is None:
            server_first = exc.rcvd is not None and (exc.sent is None or bool(exc.rcvd_then_sent))
            if server_first:
                assert exc.rcvd is not None
                code, reason = exc.rcvd.code, exc.rcvd.reason
                self.closed_by = self.closed_by or "app"
                self.trace.record("send", {"type": "websocket.close", "code": code, "reason": reason})
            elif exc.sent is not None:
                code, reason = exc.sent.code, exc.sent.reason
                self.closed_by = self.closed_by or "client"
                self.trace.record("receive", {"type": "websocket.disconnect", "code": code, "reason": reason})
            else:  # the connection dropped without a closing handshake
                code, reason = 1006, ""
                self.closed_by = self.closed_by or "app"
                self.trace.record("send", {"type": "websocket.close", "code": code, "reason": reason})
            if self.close_code is None:
                self.close_code, self.close_reason = code, reason or None
            self._close_message = {"type": "websocket.close", "code": self.close_code,
                                   "reason": self.close_reason or ""}
            self.trace.finish("closed")
        return self._close_message

    def _put_back(self, message: dict[str, Any]) -> None:
        self._pending.appendleft(message)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        __tracebackhide__ = True
        self._check_close_code(code)
        connection = self.connection
        if connection is None or self._close_message is not None:
            return
        from websockets.exceptions import ConnectionClosed

        await connection.close(code, reason or "")
        while True:  # what the server sent before it saw the close, then how the connection ended
            try:
                data = await connection.recv()
            except ConnectionClosed as exc:
                self._closed_by(exc)
                return
            self.trace.record("send", {"type": "websocket.send", "text": data} if isinstance(data, str)
                              else {"type": "websocket.send", "bytes": data})

    async def _leave(self, exc: BaseException | None) -> None:
        __tracebackhide__ = True
        if exc is None:
            await self.close()
            return
        # The block is failing already: close without hiding that error. The closing handshake is
        # bounded by websockets' close_timeout (the session's timeout), after which it drops the
        # connection itself.
        with contextlib.suppress(Exception):
            await self.close()
