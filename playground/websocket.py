"""A WebSocket session as the client sees it: the API a notebook uses, whatever carries the frames.

``WebSocketSession`` holds what both transports share (the typed send/receive helpers, the close
state, the transcript, the displays); a transport subclass moves the messages: in-process through the
ASGI app (``_inprocess/websocket.py``), or over a real socket (``_network.py``).

Messages are ASGI messages as the app sees them: the client sends ``websocket.receive`` messages and
receives ``websocket.send`` and ``websocket.close`` ones.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import Any, Literal, NamedTuple

import anyio

from .errors import MessageTooLarge, WebSocketDisconnect, check_choice, check_timeout
from .trace import Trace

__all__ = ["TranscriptLine", "WebSocketSession"]

_MODES = ("text", "binary")  # how JSON goes: as a text message or as UTF-8 bytes


class TranscriptLine(NamedTuple):
    offset: float
    sender: Literal["client", "app"]
    kind: str  # "text", "bytes", "accept", "close", "connect", "denied"
    data: Any


class WebSocketSession:
    """One WebSocket connection; use ``async with client.websocket_connect(...) as ws``.

    ``await client.websocket_connect(...)`` also works, for a session that lives across notebook
    cells; then end it with ``await ws.close()``.
    """

    trace: Trace
    #: who a close comes from, as the client can tell: the app (in-process) or the server (network)
    peer = "app"

    def __init__(self, url: str, *, timeout: float | None, max_message_size: int | None) -> None:
        self.url = url
        self.timeout = timeout
        self.max_message_size = max_message_size
        self.accepted = False
        self.accepted_subprotocol: str | None = None
        #: set once the session is over: the close code and reason, and who closed ("client"/"app")
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed_by: str | None = None

    @property
    def accept_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers the app sent with ``websocket.accept`` (a copy: the trace keeps the original)."""
        return list(self._accept_headers)

    @accept_headers.setter
    def accept_headers(self, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self._accept_headers = headers

    # Shared and never changed: a session stores its own sequence once the app accepts, and the
    # property hands out copies, so thousands of open sessions need no empty list each.
    _accept_headers: Sequence[tuple[bytes, bytes]] = ()
    _connect_called = False  # set on the instance by the first connect: a session connects once

    # -- what a transport provides --------------------------------------------------------------

    async def connect(self) -> None:
        raise NotImplementedError

    async def _send(self, message: dict[str, Any]) -> None:
        """Send a well-formed ``websocket.receive`` message (``send`` checks a raw one first)."""
        raise NotImplementedError

    async def receive(self, timeout: float | None = None) -> dict[str, Any]:
        """The app's next raw message: ``websocket.send`` or ``websocket.close``."""
        raise NotImplementedError

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close from the client's side and wait (bounded) for the app to finish."""
        raise NotImplementedError

    def _put_back(self, message: dict[str, Any]) -> None:
        """Keep a message a typed receive could not use, so the next receive gets it."""
        raise NotImplementedError

    def _receive_timeout(self, timeout: float | None) -> float | None:
        """A receive's own timeout, checked (the session's, for ``None``, was checked when it was made)."""
        if timeout is None:
            return self.timeout
        check_timeout(timeout)
        return timeout

    #: Where the client cannot see the app (over the network), how long without a message is taken to
    #: mean that it has nothing more to say, for ``receive_replies`` (seconds).
    quiet_period = 0.2

    async def receive_replies(self) -> list[dict[str, Any]]:
        """Receive what the app says before it waits for the client again: its raw messages in order,
        a ``websocket.close`` last if it closed (``%%ws`` takes the replies to each line this way).

        In-process that moment is exact: the app is waiting in ``receive()`` with nothing queued for
        it. Over the network it can only be guessed: no message for ``quiet_period`` seconds.
        """
        __tracebackhide__ = True
        replies: list[dict[str, Any]] = []
        while not self.closed:
            with anyio.move_on_after(self.quiet_period) as scope:
                message = await self.receive()
            if scope.cancelled_caught:
                break
            replies.append(message)
            if message["type"] == "websocket.close":
                break
        return replies

    # -- the typed helpers, Starlette TestClient's names -----------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """Send a raw ``websocket.receive`` message (``{"type": ..., "text": ...}`` or ``"bytes"``)."""
        __tracebackhide__ = True
        self._check_client_message(message)
        await self._send(message)

    async def send_text(self, data: str) -> None:
        __tracebackhide__ = True
        if not isinstance(data, str):
            raise TypeError(f"send_text() takes a str, got {type(data).__name__}; use send_bytes() for bytes")
        if self.max_message_size is not None and len(data) * 4 > self.max_message_size:
            self._check_size(len(data.encode("utf-8")))  # only near the limit is encoding worth it
        await self._send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        __tracebackhide__ = True
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_bytes() takes bytes, got {type(data).__name__}; use send_text() for str")
        self._check_size(len(data))
        await self._send({"type": "websocket.receive", "bytes": bytes(data)})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        __tracebackhide__ = True
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        check_choice("mode", mode, _MODES)
        if mode == "text":
            await self.send_text(text)
        else:
            await self.send_bytes(text.encode("utf-8"))

    async def receive_text(self, timeout: float | None = None) -> str:
        __tracebackhide__ = True
        return self._data_of(await self.receive(timeout), "text")

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        __tracebackhide__ = True
        return self._data_of(await self.receive(timeout), "bytes")

    async def receive_json(self, mode: Literal["text", "binary"] = "text", timeout: float | None = None) -> Any:
        __tracebackhide__ = True
        check_choice("mode", mode, _MODES)
        kind = "text" if mode == "text" else "bytes"
        return json.loads(self._data_of(await self.receive(timeout), kind))

    def _data_of(self, message: dict[str, Any], kind: str) -> Any:
        """The message's text or bytes; a close or the other kind raises (the other kind is kept).
        A plain function the receives call after their one await: a coroutine level less for each."""
        __tracebackhide__ = True
        data = message.get(kind)
        if data is not None:
            return data
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or None, peer=self.peer)
        self._put_back(message)
        other = "bytes" if kind == "text" else "text"
        raise TypeError(
            f"receive_{kind}() got a {other} message from the app: {message.get(other)!r:.60}; "
            f"it is kept for the next receive_{other}() or receive()"
        )

    @staticmethod
    def _check_client_message(message: Any) -> None:
        """A raw message from the client must be one the app could get from a server."""
        if not isinstance(message, dict):
            raise TypeError(f"send() takes a 'websocket.receive' message dict, got {type(message).__name__}; "
                            "use send_text() or send_bytes() for data")
        if message.get("type") != "websocket.receive":
            raise ValueError(f"a client sends 'websocket.receive' messages, got {message.get('type')!r}")
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None):
            raise ValueError("a 'websocket.receive' message needs exactly one of 'text' and 'bytes'")
        if text is not None and not isinstance(text, str):
            raise TypeError(f"'text' of a 'websocket.receive' message must be a str, got {type(text).__name__}")
        if data is not None and not isinstance(data, bytes):
            raise TypeError(f"'bytes' of a 'websocket.receive' message must be bytes, got {type(data).__name__}")

    @staticmethod
    def _check_close_code(code: Any) -> None:
        # RFC 6455 close codes a client may send: 1000 to 4999 (the app would get anything otherwise).
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"the close code must be an int such as 1000, got {code!r}")
        if not 1000 <= code <= 4999:
            raise ValueError(f"the close code must be from 1000 to 4999 (1000: normal closure), got {code}")

    def _check_size(self, size: int) -> None:
        if self.max_message_size is not None and size > self.max_message_size:
            raise MessageTooLarge(
                f"the message is {size:,} bytes, more than max_message_size={self.max_message_size:,}; "
                "nothing was sent (raise max_message_size on the client to allow it)"
            )

    # -- the session's life -----------------------------------------------------------------------

    async def __aenter__(self) -> WebSocketSession:
        __tracebackhide__ = True
        if self.closed and not self._connect_called:
            raise RuntimeError("this WebSocket session was closed before it was connected; "
                               "open a new one with client.websocket_connect(...)")
        if self._connect_called:
            # A second connect would start a second app call behind the first one's back.
            raise RuntimeError("this WebSocket session is already connected; use it as it is, or open "
                               "another with client.websocket_connect(...)")
        self._connect_called = True
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        await self._leave(exc)

    async def _leave(self, exc: BaseException | None) -> None:
        await self.close()

    def __await__(self) -> Generator[Any, None, WebSocketSession]:
        return self.__aenter__().__await__()

    @property
    def closed(self) -> bool:
        return self.closed_by is not None

    @property
    def transcript(self) -> list[TranscriptLine]:
        """What was said, in order: who sent it, what kind, the data."""
        lines = []
        for offset, direction, message in self.trace.events:
            kind = message["type"]
            sender: Literal["client", "app"] = "client" if direction == "receive" else "app"
            if kind in ("websocket.receive", "websocket.send"):
                is_text = message.get("text") is not None
                lines.append(TranscriptLine(offset, sender, "text" if is_text else "bytes",
                                            message["text"] if is_text else message.get("bytes")))
            elif kind in ("websocket.close", "websocket.disconnect"):
                lines.append(TranscriptLine(offset, sender, "close",
                                            (message.get("code", 1000), message.get("reason") or "")))
            elif kind == "websocket.accept":
                lines.append(TranscriptLine(offset, sender, "accept", message.get("subprotocol")))
            elif kind == "websocket.connect":
                lines.append(TranscriptLine(offset, sender, "connect", None))
            elif kind == "websocket.http.response.start":
                lines.append(TranscriptLine(offset, sender, "denied", message.get("status")))
        return lines

    def __repr__(self) -> str:
        state = (
            f"closed by the {self.closed_by} ({self.close_code})" if self.closed
            else "open" if self.accepted else "not connected"
        )
        return f"<WebSocketSession {self.url} {state}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .display import session_text

        printer.text(session_text(self))

    def _repr_html_(self) -> str:
        from .display import session_html

        return session_html(self)
