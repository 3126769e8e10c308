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

from .errors import Frame, frames_of
from .trace import Trace

ASGIApp = Callable[..., Any]


class AppTask:
    __slots__ = (
        "_cancel_scope", "_done", "_handle", "_on_done", "app", "cancelled", "exception", "finished",
        "receive", "scope", "send", "trace", "waiting_at",
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
        self._cancel_scope = anyio.CancelScope()
        self._done: anyio.Event | None = None
        self._handle: Any = None
        self.finished = False
        self.cancelled = False
        self.exception: BaseException | None = None
        #: where the app was suspended when it was cancelled, innermost frame last
        self.waiting_at: list[Frame] = []

    def start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            import trio

            trio.lowlevel.spawn_system_task(self._run, context=contextvars.copy_context())
        else:
            self._handle = loop.create_task(self._run())

    async def _run(self) -> None:
        cancelled_exc = anyio.get_cancelled_exc_class()
        try:
            with self._cancel_scope:
                try:
                    await self.app(self.scope, self.receive, self.send)
                except cancelled_exc as exc:
                    self.waiting_at = frames_of(exc.__traceback__)[1:]
                    raise
            if self._cancel_scope.cancel_called:
                self.cancelled = True
                self.trace.finish("cancelled")
            else:
                self.trace.finish("returned")
        except cancelled_exc:  # the loop itself is shutting down
            self.cancelled = True
            self.trace.finish("cancelled")
            raise
        except BaseException as exc:  # the app's own error, kept for the caller to raise
            self.exception = exc
            self.trace.finish(f"raised {type(exc).__name__}")
        finally:
            self.finished = True
            if self._done is not None:
                self._done.set()
            self._on_done()

    def cancel(self) -> None:
        self._cancel_scope.cancel()

    async def wait(self, timeout: float | None) -> bool:
        """Wait until the call has ended; False when it is still running after ``timeout`` seconds."""
        if self.finished:
            return True
        if self._done is None:
            self._done = anyio.Event()
        with anyio.move_on_after(timeout):
            await self._done.wait()
        return self.finished

    async def cancel_and_wait(self, timeout: float) -> bool:
        """Cancel, then wait a bounded time for the app to unwind."""
        if not self.finished:
            self.cancel()
        return await self.wait(timeout)
