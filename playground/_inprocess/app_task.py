"""One call of an ASGI app, run as its own task on the caller's event loop.

The task is not bound to a task group on purpose: when the app has to be cancelled (a timeout, the
caller went away) and it ignores the cancellation, the client lets it go instead of hanging the
kernel with it. How the call ended (its ``Ending``), and where it was suspended when cancelled, is
kept for errors.

Cancelling: on trio the call runs in its own cancel scope. On asyncio it is ``Task.cancel()``, held
back while the app is inside a shielded anyio scope (Starlette closes files under one) and delivered
once the shield is gone. An anyio scope around every call would do the same, at a fifth of the cost
of a whole request.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from .._asgi import ASGIApp, app_name
from .._private_api import inside_anyio_shield
from ..errors import BLOCKING_ADVICE, AppTimeout, EventLoopBlocked, EventLoopBlockedWarning, Frame, frames_of
from ..trace import Trace
from . import watchdog
from .channel import TIMEOUT, Channel, running_loop

T = TypeVar("T")
_NO_FRAMES: list[Frame] = []  # shared and never changed: ``waiting_at`` is replaced, not appended to
SHIELD_RECHECK = 0.005  # seconds between looks at a shielded app that is to be cancelled
#: An app step that keeps the event loop longer than this (seconds) is reported as a block.
BLOCK_THRESHOLD = 0.2

#: What a task puts on its owner's channel when the app's call has ended, however it ended
#: (``AppTask.ending`` says how). Told apart by identity; a tuple, like the HTTP exchange's events.
APP_ENDED = ("app ended",)


class Ending(enum.Enum):
    """How an app's call ended; ``AppTask.ending`` records it once, and the trace says it in a word."""

    RETURNED = "returned"
    RAISED = "raised"  # the app's own exception, in ``AppTask.exception``
    CANCELLED = "cancelled by the client"  # a timeout, or the caller went away: ``waiting_at`` says where
    #: cancelled by something else (a cell that cancels every task, the loop shutting down), before
    #: its first step or during the call
    CANCELLED_ELSEWHERE = "cancelled elsewhere"
    STOPPED = "stopped"  # by the watchdog, for blocking the event loop past the client's timeout

    def outcome(self, exception: BaseException | None) -> str:
        """The trace's word for it (``Trace.outcome``)."""
        if self is Ending.RAISED:
            return f"raised {type(exception).__name__}"
        if self is Ending.CANCELLED or self is Ending.CANCELLED_ELSEWHERE:
            return "cancelled"
        return self._value_  # "returned", "stopped" (enum's documented sunder name; .value is a slower property)


class AppTask:
    __slots__ = (
        "_cancel_requested", "_cancelled_exc", "_done", "_ended_to", "_handle", "app", "ending", "exception",
        "receive", "scope", "send", "ticked", "trace", "waiting_at", "watch",
    )

    def __init__(
        self, app: ASGIApp, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any],
        trace: Trace, ended_to: Channel[Any],
    ) -> None:
        self.app = app
        self.scope = scope
        # Usually bound methods of the owner, which holds this: a cycle, broken when the call ends so
        # that a finished exchange is freed at once instead of waiting for the garbage collector.
        self.receive = receive
        self.send = send
        self.trace = trace
        self._ended_to = ended_to  # ``APP_ENDED`` is put on it when the call has ended
        self._done: Channel[bool] | None = None  # made when someone waits for the end
        self._handle: Any = None  # the asyncio Task, or the trio CancelScope around the call
        self._cancel_requested = False
        self._cancelled_exc: type[BaseException] = asyncio.CancelledError
        #: how the call ended; None while it runs
        self.ending: Ending | None = None
        self.exception: BaseException | None = None
        #: where the app was suspended when it was cancelled, innermost frame last
        self.waiting_at: list[Frame] = _NO_FRAMES
        #: the block threshold (seconds) while the client waits, None for no watchdog
        self.watch: float | None = BLOCK_THRESHOLD
        #: the watchdog looks at it from the main thread's ticks (decided when it starts)
        self.ticked = False

    @property
    def finished(self) -> bool:
        return self.ending is not None

    def start(self) -> None:
        loop = running_loop()
        if loop is not None:
            self.ticked = self.watch is not None and watchdog.can_tick()
            task = self._handle = loop.create_task(self._run())
            # For a task cancelled before its first step, where ``_run`` never runs; ``_run`` takes
            # it off again at once (scheduling it for every call's end costs 3% of a request). A
            # module function and a shared context: a bound method and the context copied by
            # default would be two more objects per call.
            task.add_done_callback(_task_done, context=_CALLBACK_CONTEXT)
            _running[task] = self
        else:
            import trio

            self.watch = None  # the watchdog tells asyncio's steps apart, not trio's
            self._cancelled_exc = trio.Cancelled
            trio.lowlevel.spawn_system_task(self._run_trio, context=contextvars.copy_context())

    async def _run_trio(self) -> None:
        __tracebackhide__ = True
        import trio

        with trio.CancelScope() as self._handle:
            if self._cancel_requested:
                self._handle.cancel()
            await self._run()

    async def _run(self) -> None:
        __tracebackhide__ = True
        if self._cancelled_exc is asyncio.CancelledError:  # on asyncio: the first step has come
            self._handle.remove_done_callback(_task_done)
        try:
            await self.app(self.scope, self.receive, self.send)
        except BaseException as exc:
            if self.watch is not None and watchdog.stopped_by_client(self, exc):
                # The watchdog stopped an app that blocked the loop past the timeout: its line is here.
                watchdog.mark_stopped(self)
                self.waiting_at = watchdog.app_frames(frames_of(_innermost(exc).__traceback__)[1:])
                self._end(Ending.STOPPED)
                return
            if isinstance(exc, self._cancelled_exc):
                if not self._cancel_requested:
                    self._end(Ending.CANCELLED_ELSEWHERE)
                    raise  # the loop shutting down, say: not ours to absorb
                self.waiting_at = frames_of(exc.__traceback__)[1:]
                self._end(Ending.CANCELLED)
                if isinstance(exc, asyncio.CancelledError):
                    return  # our own cancel: the task simply ends
                raise  # trio's scope absorbs our own
            if isinstance(exc, TypeError) and "'await' expression" in str(exc) and _raised_here(exc):
                exc = _not_awaitable(self.app, exc)
            self._end(Ending.RAISED, exc)  # the app's own error, kept for the caller to raise
        else:
            self._end(Ending.RETURNED)

    def _end(self, ending: Ending, exception: BaseException | None = None) -> None:
        self.ending = ending
        self.exception = exception
        self.trace.finish(ending.outcome(exception))
        self.app = self.receive = self.send = None  # type: ignore[assignment]  # see __init__
        if self._done is not None:
            self._done.put(True)
        self._ended_to.put(APP_ENDED)
        _running.pop(self._handle, None)

    @property
    def ended_as(self) -> str:
        """How the call ended, for an error saying what the app did not send: an app cancelled by the
        client never gets this far (that is an ``AppTimeout``), nor one that raised (that is the error)."""
        if self.ending is Ending.CANCELLED_ELSEWHERE:
            return "the app's task was cancelled, not by the client,"
        return "the app returned"

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._handle is None or self.finished:
            return
        if isinstance(self._handle, asyncio.Task):
            if inside_anyio_shield(self._handle):
                self._handle.get_loop().call_later(SHIELD_RECHECK, self.cancel)
                return
        self._handle.cancel()

    async def wait(self, timeout: float | None) -> bool:
        """Wait until the call has ended; False when it is still running after ``timeout`` seconds."""
        __tracebackhide__ = True
        if self.finished:
            return True
        if self._done is None:
            self._done = Channel()
        return await self._done.wait(timeout)

    async def cancel_and_wait(self, timeout: float) -> bool:
        """Cancel, then wait a bounded time for the app to unwind; after that the app is let go."""
        __tracebackhide__ = True
        if not self.finished:
            self.cancel()
        if await self.wait(timeout):
            return True
        return False  # ``_running`` keeps the task referenced until it ends on its own

    async def abandon(self, grace: float) -> None:
        """Cancel and give the app ``grace`` seconds to unwind; shielded, so it also runs during a cancel."""
        __tracebackhide__ = True
        with anyio.CancelScope(shield=True):
            await self.cancel_and_wait(grace)

    async def wind_down(self, grace: float) -> None:
        """The client has gone: give the app ``grace`` seconds to end by itself, then cancel it."""
        __tracebackhide__ = True
        with anyio.CancelScope(shield=True):
            if not await self.wait(grace):
                await self.cancel_and_wait(grace)

    async def next_from(self, channel: Channel[T], phase: str, timeout: float | None, grace: float) -> T:
        """The next item the app puts on ``channel``; when none comes in time, the app is cancelled
        and ``AppTimeout`` names ``phase`` and where the app was waiting."""
        __tracebackhide__ = True
        item = channel.get_nowait()
        if item is None:
            watched = self.watch is not None
            if watched:
                watchdog.begin(self, timeout)
            try:
                item = await channel.get(timeout)
            finally:
                block = watchdog.end(self) if watched else None
            if block is not None or self.ending is Ending.STOPPED:
                self.blocked(block, phase, timeout)
            if item is TIMEOUT:
                await self.abandon(grace)
                raise AppTimeout(phase, timeout or 0.0, self.waiting_at)
        return item

    async def finish_within(self, phase: str, timeout: float | None, grace: float) -> None:
        """Wait for the call to end; past ``timeout`` the app is cancelled and ``AppTimeout`` raised."""
        __tracebackhide__ = True
        if self.finished:
            return
        watched = self.watch is not None
        if watched:
            watchdog.begin(self, timeout)
        try:
            ended = await self.wait(timeout)
        finally:
            block = watchdog.end(self) if watched else None
        if block is not None or self.ending is Ending.STOPPED:
            self.blocked(block, phase, timeout)
        if not ended:
            await self.abandon(grace)
            raise AppTimeout(phase, timeout or 0.0, self.waiting_at)

    def blocked(self, block: watchdog.Block | None, phase: str, timeout: float | None) -> None:
        """The loop is back after the app blocked it: say so in the trace and, once per exchange, in a
        warning; raise ``EventLoopBlocked`` when the client had to stop the app."""
        __tracebackhide__ = True
        if block is None:  # stopped during an earlier wait of this call: that wait raised already
            return
        stopped = self.ending is Ending.STOPPED
        if stopped and self.waiting_at:
            block.frames = self.waiting_at  # exactly where the stop came out of the app
        first = not self.trace.blocks
        self.trace.blocks = (*self.trace.blocks, block)
        if stopped or block.timeout is not None:
            # Past the timeout: stopped, or it could not be, and the error says why.
            raise EventLoopBlocked(phase, timeout or 0.0, block.duration, block.where(), self.waiting_at,
                                   block.uninterruptible, stopped=stopped)
        if first:
            frame = watchdog.user_frame(block.frames)
            # Pointed at the app's line; no registry, so each exchange says it (not once per line).
            text = block.describe()
            if block.uninterruptible:
                text += f" ({block.uninterruptible})"
            warnings.warn_explicit(
                EventLoopBlockedWarning(f"{text}. {BLOCKING_ADVICE}"),
                EventLoopBlockedWarning,
                frame.filename if frame else "<app>",
                frame.lineno if frame else 0,
                registry=None,
            )


#: The calls running on asyncio, by task. Its loop keeps only weak references to tasks: an app waiting
#: in ``receive()`` for a session nobody holds any more (a notebook cell run again, rebinding ``ws``)
#: would be destroyed mid-call by the garbage collector. Also holds the calls that ignored
#: cancellation and were let go, until they end on their own.
_running: dict[asyncio.Task[None], AppTask] = {}
_CALLBACK_CONTEXT = contextvars.Context()  # ``_task_done`` reads no context variable


def _task_done(task: asyncio.Task[None]) -> None:
    call = _running.get(task)
    if call is not None and not call.finished:
        # Cancelled before its first step (by anything: a cell that cancels every task, the loop
        # shutting down): ``_run`` never ran, so the owner learns of the end here.
        call._end(Ending.CANCELLED if call._cancel_requested else Ending.CANCELLED_ELSEWHERE)


def _innermost(exc: BaseException) -> BaseException:
    """The watchdog's stop itself, out of the exception groups a task group wraps it in."""
    while isinstance(exc, BaseExceptionGroup):
        exc = next((e for e in exc.exceptions if watchdog.stopped_by_client_leaf(e)), exc.exceptions[0])
    return exc


def _raised_here(exc: BaseException) -> bool:
    """Whether ``exc`` came from ``_run``'s own line, not from inside the app."""
    return exc.__traceback__ is not None and exc.__traceback__.tb_next is None


def _not_awaitable(app: ASGIApp, exc: TypeError) -> TypeError:
    """Python's "object NoneType can't be used in 'await' expression", in terms of ASGI."""
    error = TypeError(
        f"{app_name(app)}(scope, receive, send) did not return an awaitable ({exc}): an ASGI app is an "
        "'async def' function, or a class whose instances are awaitable, such as an endpoint"
    )
    error.__cause__ = exc
    return error.with_traceback(exc.__traceback__)
