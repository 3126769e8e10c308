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

from .channel import Channel
from .errors import Frame, frames_of
from .trace import Trace

ASGIApp = Callable[..., Any]


class AppTask:
    __slots__ = (
        "_cancel_requested", "_cancelled_exc", "_done", "_handle", "_on_done", "app", "cancelled",
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
        self._handle: Any = None  # the asyncio Task, or the trio CancelScope around the call
        self._cancel_requested = False
        self._cancelled_exc: type[BaseException] = asyncio.CancelledError
        self.finished = False
        self.cancelled = False
        self.exception: BaseException | None = None
        #: where the app was suspended when it was cancelled, innermost frame last
        self.waiting_at: list[Frame] = []

    def start(self) -> None:
        loop = asyncio._get_running_loop()
        if loop is not None:
            self._handle = loop.create_task(self._run())
            self._handle.add_done_callback(self._task_done)
        else:
            import trio

            self._cancelled_exc = trio.Cancelled
            trio.lowlevel.spawn_system_task(self._run_trio, context=contextvars.copy_context())

    async def _run_trio(self) -> None:
        import trio

        with trio.CancelScope() as self._handle:
            if self._cancel_requested:
                self._handle.cancel()
            await self._run()

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as exc:
            if isinstance(exc, self._cancelled_exc):
                self.cancelled = True
                self.trace.finish("cancelled")
                if self._cancel_requested:
                    self.waiting_at = frames_of(exc.__traceback__)[1:]
                    if isinstance(exc, asyncio.CancelledError):
                        return  # our own cancel: the task simply ends
                raise  # trio's scope absorbs our own; anything else is the loop shutting down
            self.exception = exc  # the app's own error, kept for the caller to raise
            self.trace.finish(f"raised {type(exc).__name__}")
        else:
            self.trace.finish("returned")
        finally:
            self.finished = True
            self._done.put(True)
            self._on_done()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not self.finished:  # cancelled before its first step: ``_run`` never ran
            self.cancelled = self.finished = True
            self.trace.finish("cancelled")
            self._done.put(True)
            self._on_done()

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._handle is not None and not self.finished:
            self._handle.cancel()

    async def wait(self, timeout: float | None) -> bool:
        """Wait until the call has ended; False when it is still running after ``timeout`` seconds."""
        return self.finished or await self._done.wait(timeout)

    async def cancel_and_wait(self, timeout: float) -> bool:
        """Cancel, then wait a bounded time for the app to unwind."""
        if not self.finished:
            self.cancel()
        return await self.wait(timeout)
