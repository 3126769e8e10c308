"""Drive an ASGI app with raw messages and collect what it sends, in the spirit of asgiref's
``testing.ApplicationCommunicator``: nothing between the test and the app but the ASGI callables.

Two ways in:

- ``ApplicationCommunicator``: step by step (``send_input``, ``receive_output``, ``wait``), for tests
  that react to what the app has said so far.
- ``run``: feed a fixed list of messages, run the app to its end and get a ``Transcript`` of every
  message in both directions plus the exception it raised, for comparing two apps message by message.

Every wait is bounded by an anyio timeout, so a hung app fails the test instead of hanging it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup
from starlette.types import ASGIApp, Message, Scope

DEFAULT_TIMEOUT = 2.0


def http_scope(
    method: str = "GET",
    path: str = "/",
    *,
    query_string: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
    extensions: dict[str, Any] | None = None,
) -> Scope:
    """A complete ``http`` connection scope, as a server would build it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "extensions": extensions if extensions is not None else {},
    }


def websocket_scope(path: str = "/", *, subprotocols: Iterable[str] = ()) -> Scope:
    """A complete ``websocket`` connection scope, as a server would build it."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "subprotocols": list(subprotocols),
        "extensions": {"websocket.http.response": {}},
    }


def http_request(body: bytes = b"", *, more_body: bool = False) -> Message:
    return {"type": "http.request", "body": body, "more_body": more_body}


Direction = Literal["app received", "app sent"]


@dataclass
class Transcript:
    """Every message of one run, in order, and the exception the app ended with (None if it returned)."""

    events: list[tuple[Direction, Message]] = field(default_factory=list)
    exception: Exception | None = None

    @property
    def sent(self) -> list[Message]:
        return [message for direction, message in self.events if direction == "app sent"]

    @property
    def received(self) -> list[Message]:
        return [message for direction, message in self.events if direction == "app received"]


async def run(
    app: ASGIApp, scope: Scope, inputs: Iterable[Message] = (), *, timeout: float = DEFAULT_TIMEOUT
) -> Transcript:
    """Run ``app`` to its end, handing it ``inputs`` one per ``receive()`` call.

    Once the inputs are used up, ``receive()`` waits forever, as a server does while its client is
    quiet; an app still waiting when ``timeout`` expires fails with ``TimeoutError``.
    """
    transcript = Transcript()
    pending = list(inputs)

    async def receive() -> Message:
        if not pending:
            await anyio.sleep_forever()
        message = pending.pop(0)
        transcript.events.append(("app received", message))
        return message

    async def send(message: Message) -> None:
        transcript.events.append(("app sent", message))

    with anyio.fail_after(timeout):
        try:
            await app(scope, receive, send)
        except Exception as exc:
            transcript.exception = exc
    return transcript


class ApplicationCommunicator:
    """Runs one app connection as a task; the test plays the server's side of it.

    ``async with ApplicationCommunicator(app, scope) as app_io:`` starts the app; leaving the block
    cancels it if it is still running, and re-raises an exception of the app that no call reported.
    """

    def __init__(self, app: ASGIApp, scope: Scope, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.app = app
        self.scope = scope
        self.timeout = timeout
        self.received: list[Message] = []  # what the app took in, in order
        self.sent: list[Message] = []  # what the app sent, in order
        self.exception: Exception | None = None
        self._exception_reported = False
        self._done = anyio.Event()
        self._to_app_send, self._to_app_receive = anyio.create_memory_object_stream[Message](math.inf)
        self._from_app_send, self._from_app_receive = anyio.create_memory_object_stream[Message](math.inf)
        self._task_group: TaskGroup | None = None

    async def __aenter__(self) -> ApplicationCommunicator:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._run_app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task_group is not None
        self._task_group.cancel_scope.cancel()
        await self._task_group.__aexit__(None, None, None)
        for stream in (self._to_app_send, self._to_app_receive, self._from_app_send, self._from_app_receive):
            stream.close()
        if exc_type is None and self.exception is not None and not self._exception_reported:
            raise self.exception

    async def _run_app(self) -> None:
        try:
            await self.app(self.scope, self._app_receive, self._app_send)
        except Exception as exc:
            self.exception = exc
        finally:
            self._done.set()
            self._from_app_send.close()

    async def _app_receive(self) -> Message:
        message = await self._to_app_receive.receive()
        self.received.append(message)
        return message

    async def _app_send(self, message: Message) -> None:
        self.sent.append(message)
        await self._from_app_send.send(message)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    async def send_input(self, message: Message) -> None:
        """Queue a message for the app's next ``receive()``."""
        await self._to_app_send.send(message)

    async def receive_output(self, timeout: float | None = None) -> Message:
        """The next message the app sends; the app's exception if it fails first."""
        try:
            with anyio.fail_after(self.timeout if timeout is None else timeout):
                return await self._from_app_receive.receive()
        except anyio.EndOfStream:
            self._raise_app_exception()
            raise AssertionError("the app returned without sending another message") from None

    async def receive_nothing(self, timeout: float = 0.05) -> bool:
        """True when the app sends nothing within ``timeout`` (a pending message stays queued)."""
        with anyio.move_on_after(timeout):
            while self._from_app_receive.statistics().current_buffer_used == 0:
                await anyio.sleep(0.005)
        return self._from_app_receive.statistics().current_buffer_used == 0

    async def wait(self, timeout: float | None = None) -> None:
        """Until the app returns; raises the app's exception if it raised one."""
        with anyio.fail_after(self.timeout if timeout is None else timeout):
            await self._done.wait()
        self._raise_app_exception()

    def _raise_app_exception(self) -> None:
        if self.exception is not None:
            self._exception_reported = True
            raise self.exception
