"""One call of an ASGI app, run as its own task on the caller's event loop.

The task is not bound to a task group on purpose: when the app has to be cancelled (a timeout, the
caller went away) and it ignores the cancellation, the client lets it go instead of hanging the
kernel with it. How the call ended, and where it was suspended when cancelled, is kept for errors.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

import anyio

from .channel import Channel
from .errors import Frame, frames_of
from .trace import Trace

ASGIApp = Callable[..., Any]


class AppTask:
    __slots__ = (
        "_cancel_requested", "_done", "_handle", "_on_done", "_scope", "app", "cancelled",
        "exception", "finished", "receive", "scope", "send", "trace", "waiting_at",
    )

    def __init__(
        self, app: ASGIApp, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any],
        trace: Trace, on_done: Callable[[], None],
    ) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.trace = trace
        self._on_done = on_done
        self._done: Channel[bool] = Channel()
        self._handle: asyncio.Task[None] | None = None  # on asyncio; trio keeps its system tasks itself
        self._scope: anyio.CancelScope | None = None
        self._cancel_requested = False
        self.finished = False
        self.cancelled = False
        self.exception: BaseException | None = None
        #: where the app was suspended when it was cancelled, innermost frame last
        self.waiting_at: list[Frame] = []

    def start(self) -> None:
        loop = asyncio._get_running_loop()
        if loop is not None:
            self._handle = loop.create_task(self._run())
        else:
            import trio

            trio.lowlevel.spawn_system_task(self._run, context=contextvars.copy_context())

    async def _run(self) -> None:
        # An anyio scope, not Task.cancel(): a shielded scope inside the app (a file being closed)
        # must stay shielded when the client cancels the call.
        cancelled_exc = anyio.get_cancelled_exc_class()
        try:
            with anyio.CancelScope() as self._scope:
                if self._cancel_requested:
                    self._scope.cancel()
                try:
                    await self.app(self.scope, self.receive, self.send)
                except cancelled_exc as exc:
                    if self._scope.cancel_called:
                        self.waiting_at = frames_of(exc.__traceback__)[1:]
                    raise
        except cancelled_exc:  # not ours: the loop itself is shutting down
            self.cancelled = True
            self.trace.finish("cancelled")
            raise
        except BaseException as exc:
            self.exception = exc  # the app's own error, kept for the caller to raise
            self.trace.finish(f"raised {type(exc).__name__}")
        else:
            if self._scope.cancelled_caught:
                self.cancelled = True
                self.trace.finish("cancelled")
            else:
                self.trace.finish("returned")
        finally:
            self.finished = True
            self._done.put(True)
            self._on_done()
            _let_go.discard(self)

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._scope is not None and not self.finished:
            self._scope.cancel()

    async def wait(self, timeout: float | None) -> bool:
        """Wait until the call has ended; False when it is still running after ``timeout`` seconds."""
        return self.finished or await self._done.wait(timeout)

    async def cancel_and_wait(self, timeout: float) -> bool:
        """Cancel, then wait a bounded time for the app to unwind; after that the app is let go."""
        if not self.finished:
            self.cancel()
        if await self.wait(timeout):
            return True
        _let_go.add(self)  # keeps the task referenced until it ends on its own
        return False


#: Calls that ignored cancellation and were let go, kept alive until they end.
_let_go: set[AppTask] = set()
