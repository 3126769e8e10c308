"""A WebSocket session driven through an ASGI app in-process.

Two channels: the client's messages queue for the app's ``receive()``; what the app ``send()``s is
checked against the protocol, recorded, and queued for the client. Closing is a handshake in both
directions: the app's ``websocket.close`` is answered with ``websocket.disconnect``, and the client's
close reaches the app as ``websocket.disconnect`` while the client waits, bounded, for it to finish.
"""

from __future__ import annotations

import datetime
from typing import Any

import anyio
import httpx
from starlette.websockets import WebSocketDisconnect as StarletteWebSocketDisconnect

from .._asgi import ASGIApp
from ..errors import (
    AppTimeout,
    ASGIProtocolError,
    ClientDisconnected,
    MessageTooLarge,
    WebSocketDenied,
    WebSocketDisconnect,
)
from ..response import Response
from ..trace import Trace
from ..websocket import WebSocketSession
from . import watchdog
from .app_task import APP_ENDED, AppTask, Ending
from .channel import TIMEOUT, Channel
from .http import server_error
from .scope import websocket_url


class InProcessWebSocketSession(WebSocketSession):
    #: Take the app's ``websocket.close`` after the client has gone without an error (Starlette's
    #: TestClient does; a server raises ``OSError``, as ASGI 2.4 says, and so does this by default).
    quiet_late_close = False

    def __init__(
        self, app: ASGIApp, scope: dict[str, Any], request: httpx.Request, *, timeout: float | None,
        grace: float, raise_app_exceptions: bool, max_message_size: int | None,
    ) -> None:
        super().__init__(websocket_url(request.url), timeout=timeout, max_message_size=max_message_size)
        self.request: httpx.Request | None = request
        self.grace = grace
        self.raise_app_exceptions = raise_app_exceptions
        self.trace = Trace(scope)
        self.to_app: Channel[dict[str, Any]] = Channel()
        self.to_client: Channel[dict[str, Any]] = Channel()  # the app's messages, then APP_ENDED
        self.task = AppTask(app, scope, self._app_receive, self._app_send, self.trace, self.to_client)
        self._connect_sent = False
        self._app_closed = False  # the app sent websocket.close
        self._client_left = False  # the client closed, or stopped reading
        self._app_idle = False  # the app is waiting in receive() for the client
        self._error_raised = False
        self._denial: dict[str, Any] | None = None

    # -- the app's side ---------------------------------------------------------------------------

    async def _app_receive(self) -> dict[str, Any]:
        if not self._connect_sent:
            self._connect_sent = True
            message: dict[str, Any] = {"type": "websocket.connect"}
        else:
            to_app = self.to_app
            if not to_app:
                self._app_idle = True
                try:
                    while not to_app:
                        await to_app.arrival()
                finally:
                    self._app_idle = False
            message = to_app.get_nowait()  # type: ignore[assignment]  # (something is there)
        self.trace.record("receive", message)
        return message

    async def _app_send(self, message: dict[str, Any]) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if self._client_left or (self._app_closed and kind != "websocket.close"):
            if kind == "websocket.close" and self.quiet_late_close and not self._app_closed:
                self.trace.record("send", message)
                self._app_closed = True
                return
            raise ClientDisconnected(f"cannot send {kind!r}: the WebSocket is closed")
        if kind == "websocket.send":
            if not self.accepted:
                raise ASGIProtocolError("the app sent 'websocket.send' before 'websocket.accept'")
            text, data = message.get("text"), message.get("bytes")
            if (text is None) == (data is None):
                raise ASGIProtocolError("'websocket.send' needs exactly one of 'text' and 'bytes'")
            self.trace.record("send", message)
            limit = self.max_message_size
            # A str of n characters is at most 4n bytes in UTF-8: encode only near the limit.
            if limit is not None and (len(data) if data is not None else len(text) * 4) > limit:
                size = len(data) if data is not None else len(text.encode("utf-8"))
                if size > limit:
                    # A real client refuses such a frame and closes with 1009 (message too big).
                    self._client_close_now(1009, "message too big")
                    self.to_client.put({"type": "playground.too_large", "size": size})
                    return
            self.to_client.put(message)
        elif kind == "websocket.accept":
            if self.accepted:
                raise ASGIProtocolError("the app sent 'websocket.accept' twice")
            if self._denial is not None:
                raise ASGIProtocolError("the app sent 'websocket.accept' after starting a denial response")
            self.trace.record("send", message)
            self.accepted = True
            self.accepted_subprotocol = message.get("subprotocol")
            self._accept_headers = message.get("headers") or ()
            self.to_client.put(message)
        elif kind == "websocket.close":
            if self._app_closed:
                raise ASGIProtocolError("the app sent 'websocket.close' twice")
            self.trace.record("send", message)
            self._app_closed = True
            if self.closed_by is None:
                self.closed_by, self.close_code = "app", message.get("code", 1000)
                self.close_reason = message.get("reason") or None
            # The server completes the closing handshake: the app's next receive() sees it.
            self.to_app.put({"type": "websocket.disconnect", "code": message.get("code", 1000),
                             "reason": message.get("reason") or ""})
            self.to_client.put(message)
        elif kind in ("websocket.http.response.start", "websocket.http.response.body"):
            self._app_sends_denial(message)
        else:
            raise ASGIProtocolError(
                f"the app sent {message!r:.80}, which is not a WebSocket message; expected "
                "websocket.accept, websocket.send, websocket.close or websocket.http.response.*"
            )

    def _app_sends_denial(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if self.accepted:
            raise ASGIProtocolError(f"the app sent {kind!r} after accepting the WebSocket")
        if kind == "websocket.http.response.start":
            if self._denial is not None:
                raise ASGIProtocolError("the app sent 'websocket.http.response.start' twice")
            self._denial = {"status": message["status"], "headers": list(message.get("headers", [])),
                            "body": []}
        elif self._denial is None:
            raise ASGIProtocolError("the app sent 'websocket.http.response.body' before its start")
        else:
            self._denial["body"].append(message.get("body", b""))
        self.trace.record("send", message)
        if kind == "websocket.http.response.body" and not message.get("more_body", False):
            self._app_closed = True
            # As uvicorn does: the connection is gone, and an app still reading is told so (1006).
            self.to_app.put({"type": "websocket.disconnect", "code": 1006, "reason": ""})
            self.to_client.put({"type": "playground.denied"})

    def _client_close_now(self, code: int, reason: str) -> None:
        if self.closed_by is None:
            self.closed_by, self.close_code, self.close_reason = "client", code, reason
        self._client_left = True
        self.to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})

    # -- the client's side ------------------------------------------------------------------------

    async def connect(self) -> None:
        __tracebackhide__ = True
        self.task.start()
        try:
            message = await self._next("WebSocket accept", self.timeout)
        except BaseException:
            await self.task.abandon(self.grace)
            raise
        kind = "" if message is APP_ENDED else message["type"]
        if kind == "websocket.accept":
            self.request = None  # only a denial response needs it; an open session need not keep it
            return
        if kind == "websocket.close":
            await self._wait_app_return("app to return after denying the WebSocket")
            raise WebSocketDenied(self.close_code, self.close_reason)
        assert self.request is not None
        if kind == "playground.denied":
            assert self._denial is not None
            response = Response(self._denial["status"], headers=self._denial["headers"],
                                content=b"".join(self._denial["body"]), request=self.request)
            response.trace = self.trace
            # The response is complete (its last body message is the last event): it has an elapsed time.
            response.elapsed = datetime.timedelta(seconds=self.trace.events[-1].offset)
            self.closed_by, self.close_code = "app", None
            await self._wait_app_return("app to return after denying the WebSocket")
            raise WebSocketDenied(response=response)
        # The app's call ended without accepting.
        self.closed_by = "app"
        error = self._pending_error()
        if error is not None:
            raise error
        if self.task.exception is not None:
            raise WebSocketDenied(response=server_error(self.request, self.trace, self.task.exception))
        raise ASGIProtocolError(f"{self.task.ended_as} without accepting or closing the WebSocket")

    async def _send(self, message: dict[str, Any]) -> None:
        __tracebackhide__ = True
        if not self.accepted:
            raise RuntimeError("the WebSocket is not connected yet: use 'async with client.websocket_connect(...)'")
        if self._client_left:
            raise RuntimeError(f"cannot send: the client closed this WebSocket (code {self.close_code})")
        if self._app_closed or self.task.ending is not None:  # (the app's error comes with its ending)
            error = self._pending_error()
            if error is not None:
                raise error
            raise WebSocketDisconnect(self.close_code or 1000, self.close_reason)
        self.to_app.put(message)

    async def receive(self, timeout: float | None = None) -> dict[str, Any]:
        __tracebackhide__ = True
        if not self.accepted:
            raise RuntimeError("the WebSocket is not connected yet: use 'async with client.websocket_connect(...)'")
        message = await self._next(
            "WebSocket receive", self.timeout if timeout is None else self._receive_timeout(timeout))
        if message is APP_ENDED:
            self.to_client.put(message)
            # An app that returns without closing: the server closes normally (1000), or 1011 on a crash.
            code = 1011 if self.task.exception is not None else 1000
            if self.closed_by is None:
                self.closed_by, self.close_code = "app", code
            error = self._pending_error()
            if error is not None:
                raise error
            return {"type": "websocket.close", "code": self.close_code or code, "reason": ""}
        if message["type"] == "playground.too_large":
            self.to_client.put_back(message)  # every later receive says the same
            raise MessageTooLarge(
                f"the app sent a {message['size']:,}-byte message, more than max_message_size="
                f"{self.max_message_size:,}; the client closed the WebSocket with code 1009"
            )
        return message

    def _put_back(self, message: dict[str, Any]) -> None:
        self.to_client.put_back(message)

    async def receive_replies(self) -> list[dict[str, Any]]:
        """Exact here: the app's messages until it waits in ``receive()`` with nothing queued for it
        (or it ends, or the session's timeout has passed)."""
        __tracebackhide__ = True
        replies: list[dict[str, Any]] = []
        deadline = anyio.current_time() + (self.timeout or 5.0)
        spins = 0
        while True:
            if self.to_client:  # something to receive now
                message = await self.receive()
                replies.append(message)
                if message["type"] == "websocket.close":
                    return replies
                continue
            if self.closed or self.task.finished or anyio.current_time() > deadline:
                return replies
            if self._app_idle and not self.to_app:
                return replies
            spins += 1
            await anyio.sleep(0 if spins < 100 else 0.001)  # the app's turn: let it run, then look again

    @property
    def app_exception(self) -> BaseException | None:
        """The exception the app's call ended with, whether or not it was raised to the caller."""
        return self.task.exception

    def send_unchecked(self, message: dict[str, Any]) -> None:
        """Hand the app any message as it is, for a test of how the app copes with one no server sends.

        A ``websocket.disconnect`` counts as the client leaving; nothing is refused, as in Starlette's
        TestClient (``send()`` checks the message first).
        """
        if message.get("type") == "websocket.disconnect" and not self._client_left:
            self._client_close_now(message.get("code", 1000), message.get("reason") or "")
            return
        self.to_app.put(message)

    async def _next(self, phase: str, timeout: float | None) -> dict[str, Any]:
        __tracebackhide__ = True
        if self.to_client:
            return self.to_client.get_nowait()  # type: ignore[return-value]
        task = self.task
        watched = task.watch is not None
        if watched:
            watchdog.begin(task, timeout)
        try:
            message = await self.to_client.get(timeout)
        finally:
            block = watchdog.end(task) if watched else None
        if block is not None or task.ending is Ending.STOPPED:
            if task.ending is Ending.STOPPED:
                self.closed_by, self.close_code = self.closed_by or "client", self.close_code or 1011
            task.blocked(block, phase, timeout)
        if message is not TIMEOUT:
            return message
        if self._app_idle:
            # Both sides are waiting: the app is not stuck, it has nothing to say. The session stays open.
            raise AppTimeout(phase, timeout or 0.0, detail="the app sent nothing and is waiting in "
                             "receive() for the client; the session is still open")
        await self.task.abandon(self.grace)
        self.closed_by, self.close_code = self.closed_by or "client", self.close_code or 1011
        raise AppTimeout(phase, timeout or 0.0, self.task.waiting_at)

    def _pending_error(self) -> BaseException | None:
        """The app's exception, once, if the caller should see it."""
        exc = self.task.exception
        if exc is None or not self.raise_app_exceptions or self._error_raised:
            return None
        if self._client_left and isinstance(exc, (OSError, StarletteWebSocketDisconnect)):
            return None  # the app noticed that the client had gone: expected, not a failure
        self._error_raised = True
        return exc

    async def _wait_app_return(self, phase: str) -> None:
        __tracebackhide__ = True
        await self.task.finish_within(phase, self.timeout, self.grace)
        error = self._pending_error()
        if error is not None:
            raise error

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        __tracebackhide__ = True
        self._check_close_code(code)
        if not self._connect_called:
            # Never connected: there is no app call to end (waiting for one would only time out).
            if self.closed_by is None:
                self.closed_by, self.close_code, self.close_reason = "client", code, reason
            return
        if not self.task.finished and not self._client_left:
            if self._app_closed:
                self._client_left = True
            else:
                self._client_close_now(code, reason or "")
        await self._wait_app_return("app to finish after the client closed the WebSocket")

    async def _leave(self, exc: BaseException | None) -> None:
        __tracebackhide__ = True
        if exc is None:
            await self.close()
            return
        # The block is failing already (or was cancelled): clean up without hiding that error.
        if not self.task.finished and not self._client_left:
            self._client_close_now(1000, "")
        await self.task.wind_down(self.grace)
