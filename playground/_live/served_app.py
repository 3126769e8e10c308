"""The app as a live server calls it: plain ASGI between uvicorn and the app, so that ``stop()`` can end
what the app has open the way the app listens, with no knowledge of uvicorn.

- Open WebSockets are known, so ``stop()`` closes them with 1001 (going away).
- HTTP requests in progress are known by their scope, so when uvicorn's protocol cuts a streaming
  response short on shutdown (``uvicorn_shim``), the app is told as a client's disconnect tells it:
  an app waiting in ``receive()`` gets ``http.disconnect`` and its later sends are dropped, as uvicorn
  drops them for a client that has gone (Starlette's StreamingResponse, under uvicorn's ASGI 2.3, then
  cancels the body generator, whose ``finally`` runs at once; an ``OSError`` from send would leave the
  generator to be finalized later); any other app's next ``send()`` raises ``OSError``, as ASGI 2.4 says.
- The lifespan task is recorded, so a forced stop can cancel an app stuck in startup or shutdown.
- Each call sets the server's log for the log router, so the lines land in ``server.logs`` even when
  uvicorn runs a request in a fresh context (its ``reset_contextvars`` option).
- A request that came through jupyter-server-proxy's ``proxy/absolute/<port>/`` keeps that prefix in its
  path; its scope gets the prefix as ``root_path`` (ASGI: the path includes it), so an app that writes
  its own URLs (``url_for``, redirects) writes them under the prefix. Other requests are left as sent.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

from starlette.requests import ClientDisconnect

from .._asgi import ASGIApp
from ..errors import ClientDisconnected
from .logs import ServerLog, current_log


class ServedApp:
    """Wraps the app for one server start; uvicorn is given this as its app."""

    def __init__(self, app: ASGIApp, log: ServerLog, absolute_prefix: str | None = None) -> None:
        self.app = app
        self.log = log
        self.absolute_prefix = absolute_prefix  # "<base_url>proxy/absolute/<port>", behind a Jupyter server
        self.websockets: set[OpenWebSocket] = set()
        self.requests: dict[int, OpenRequest] = {}  # by id() of the scope uvicorn made, while in progress
        self.lifespan_task: asyncio.Task[Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        current_log.set(self.log)
        kind = scope["type"]
        if kind == "lifespan":
            self.lifespan_task = asyncio.current_task()
            await self.app(scope, receive, send)
        elif kind == "websocket":
            websocket = OpenWebSocket(send)
            self.websockets.add(websocket)
            try:
                await self.app(self._under_prefix(scope), receive, websocket.send)
            finally:
                self.websockets.discard(websocket)
        elif kind == "http":
            await self._serve_http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve_http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = OpenRequest(receive, send)
        key = id(scope)  # uvicorn's middlewares pass its scope on as it is; the protocol knows it too
        self.requests[key] = request
        try:
            await self.app(self._under_prefix(scope), request.receive, request.send)
        except Exception as exc:
            if not (request.cut_short and _is_client_gone(exc)):
                raise
            # Told that the client had gone, the app stopped, as it should: not an error to log.
        finally:
            del self.requests[key]

    def _under_prefix(self, scope: dict[str, Any]) -> dict[str, Any]:
        prefix = self.absolute_prefix
        if prefix is None or scope.get("root_path"):
            return scope
        path = scope["path"]
        if path == prefix or path.startswith(prefix + "/"):
            return {**scope, "root_path": prefix}
        return scope

    # -- what stop() and the shutdown of uvicorn's protocol call ----------------------------------------------

    async def close_websockets(self) -> None:
        await asyncio.gather(*(websocket.going_away() for websocket in list(self.websockets)),
                             return_exceptions=True)

    def cut_short(self, scope: dict[str, Any]) -> None:
        """The response to the request of ``scope`` (as uvicorn made it) is being cut short by shutdown."""
        request = self.requests.get(id(scope))
        if request is not None:
            request.going_away()
        logging.getLogger("uvicorn.error").info(
            '%s - "%s %s HTTP/%s" cut short: the server is shutting down',
            _client_address(scope), scope["method"], _target(scope), scope["http_version"])


class OpenRequest:
    """One HTTP request in progress: its ``receive()`` calls counted, its sends refused once cut short."""

    def __init__(self, receive: Any, send: Any) -> None:
        self._receive = receive
        self._send = send
        self.receiving = 0  # the app's receive() calls now waiting
        self.cut_short = False
        self.heard_by_receive = False

    async def receive(self) -> dict[str, Any]:
        self.receiving += 1
        try:
            message: dict[str, Any] = await self._receive()
            return message
        finally:
            self.receiving -= 1

    async def send(self, message: dict[str, Any]) -> None:
        if not self.cut_short:
            await self._send(message)  # may wait for the client to read; the cut releases that wait
            if not self.cut_short:
                return
        if not self.heard_by_receive:
            raise ClientDisconnected("the server is shutting down; the response was cut short")

    def going_away(self) -> None:
        # An app waiting in receive() now hears http.disconnect from uvicorn: that tells it enough.
        self.cut_short = True
        self.heard_by_receive = self.receiving > 0


class OpenWebSocket:
    def __init__(self, send: Any) -> None:
        self._send = send
        self.accepted = False
        self.closed = False
        self.went_away = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.went_away:
            if message.get("type") == "websocket.close":
                return  # closed already, by the server going away
            raise ClientDisconnected("the server is shutting down; the WebSocket was closed with 1001")
        kind = message.get("type")
        if kind == "websocket.accept":
            self.accepted = True
        elif kind in ("websocket.close", "websocket.http.response.start"):
            self.closed = True
        await self._send(message)

    async def going_away(self) -> None:
        if self.accepted and not self.closed:
            self.closed = self.went_away = True
            await self._send({"type": "websocket.close", "code": 1001, "reason": "server shutting down"})


def _is_client_gone(exc: BaseException) -> bool:
    """The error an app ends with when told its client has gone (also inside an exception group)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_client_gone(inner) for inner in exc.exceptions)
    return isinstance(exc, OSError | ClientDisconnect)


def _client_address(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""


def _target(scope: dict[str, Any]) -> str:
    """The request target as uvicorn's access log writes it."""
    path = urllib.parse.quote(scope.get("root_path", "") + scope["path"])
    return f"{path}?{scope['query_string'].decode('ascii')}" if scope["query_string"] else path
