"""The errors a notebook sees, each saying what happened in ASGI terms.

Where one of them (or the app's own exception) passes through the client on its way to the cell,
the client's frames set ``__tracebackhide__``: IPython and pytest fold them away, and the traceback
shows the cell and the app.
"""

from __future__ import annotations

import linecache
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from starlette.websockets import WebSocketDisconnect as _StarletteWebSocketDisconnect

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ASGIProtocolError",
    "AppTimeout",
    "ClientDisconnected",
    "EventLoopBlocked",
    "EventLoopBlockedWarning",
    "LifespanError",
    "MessageTooLarge",
    "WebSocketDenied",
    "WebSocketDisconnect",
]


class Frame(NamedTuple):
    """One frame the app was suspended in."""

    qualname: str
    filename: str
    lineno: int
    line: str


class WebSocketDisconnect(_StarletteWebSocketDisconnect):
    """The app closed the WebSocket while the client was waiting on it.

    A subclass of Starlette's, so ``except starlette.websockets.WebSocketDisconnect`` works too.
    ``peer`` is who closed it as far as the client can tell: "app" in-process; "server" over the
    network, where the app's close and the server's own (1001 when it shuts down) look the same.
    """

    def __init__(self, code: int = 1000, reason: str | None = None, *, peer: str = "app") -> None:
        super().__init__(code, reason)
        self.peer = peer

    def __str__(self) -> str:
        return f"the {self.peer} closed the WebSocket with code {self.code}" + (
            f" ({self.reason})" if self.reason else ""
        )


class WebSocketDenied(WebSocketDisconnect):
    """The app refused the WebSocket before accepting it.

    Either it closed the connection (``code``, ``reason``) or it answered with an HTTP response
    through the ``websocket.http.response`` extension (``response``; ``code`` is then None).
    """

    def __init__(
        self, code: int | None = None, reason: str | None = None, response: httpx.Response | None = None
    ) -> None:
        super().__init__(code, reason)  # type: ignore[arg-type]
        self.response = response

    def __str__(self) -> str:
        if self.response is not None:
            return f"the app denied the WebSocket with an HTTP {self.response.status_code} response"
        return f"the app denied the WebSocket by closing it with code {self.code}" + (
            f" ({self.reason})" if self.reason else ""
        )


class ASGIProtocolError(RuntimeError):
    """The app broke the ASGI protocol: a message out of order, of an unknown type, or missing."""


class LifespanError(RuntimeError):
    """Lifespan startup or shutdown failed, or the app does not speak the lifespan protocol."""


class MessageTooLarge(ValueError):
    """A WebSocket message is larger than the client's ``max_message_size``."""


class ClientDisconnected(OSError):
    """Raised in the app by ``send()`` once the client has gone (ASGI spec 2.4)."""


# -- argument checks: one home for each, so that bad input gets the same clear error everywhere ----


def check_timeout(timeout: Any, name: str = "timeout") -> None:
    """A timeout is ``None`` (no bound) or a positive number of seconds.

    Checked where the caller gives one: NaN compares false with everything, so it passed a plain
    ``<= 0`` test and then made every deadline unreachable; a hung app would hang the kernel.
    """
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{name} must be a positive number of seconds or None, got {timeout!r}")
    if not timeout > 0:
        raise ValueError(f"{name} must be a positive number of seconds or None, got {timeout!r}")


def check_grace(grace: Any) -> None:
    """A grace period is a number of seconds, 0 or more (0: cancel at once); never None, so that an
    app that ignores the client's leaving is cancelled after it, whatever it does."""
    if isinstance(grace, bool) or not isinstance(grace, (int, float)):
        raise TypeError(f"grace must be a number of seconds (0 or more), got {grace!r}")
    if not 0 <= grace < float("inf"):
        raise ValueError(f"grace must be a number of seconds (0 or more), got {grace!r}")


def check_message_size(size: Any) -> None:
    """``max_message_size`` is a positive number of bytes, or ``None`` for no limit."""
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"max_message_size must be a positive number of bytes or None, got {size!r}")
    if size <= 0:
        raise ValueError(f"max_message_size must be a positive number of bytes or None, got {size!r}")


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """One of a few words, such as ``lifespan`` ('auto', 'on', 'off') or a JSON ``mode``."""
    if value not in choices:
        words = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
        raise ValueError(f"{name} must be {words}, got {value!r}")


class AppTimeout(TimeoutError):
    """The app did not do what the client waited for in time.

    ``phase`` names the wait ("response start", "response body", "WebSocket accept", ...),
    ``timeout`` its length, ``waiting_at`` the frames the app was suspended in (innermost last).
    """

    def __init__(
        self, phase: str, timeout: float, waiting_at: list[Frame] | None = None,
        detail: str = "",
    ) -> None:
        self.phase = phase
        self.timeout = timeout
        self.waiting_at = waiting_at or []
        message = f"timed out after {timeout:g} s waiting for the app: {phase}"
        where = describe_frames(self.waiting_at)
        if detail:
            message += f"; {detail}"
        elif where:
            message += f"; the app was waiting in {where}"
        super().__init__(message)


#: What to do instead, said wherever a block is reported.
BLOCKING_ADVICE = (
    "A blocking call stops everything else on the loop: to pause, await asyncio.sleep(...); for a blocking "
    "call, write a plain 'def' handler (it runs in a worker thread) or await anyio.to_thread.run_sync(...)."
)


class EventLoopBlocked(AppTimeout):
    """The app blocked the event loop past the call's timeout, and the client stopped it.

    ``blocked_for`` is how long the loop was blocked (seconds), ``where`` the line it was blocked on,
    ``waiting_at`` the frames the app was stopped in (innermost last). ``uninterruptible`` says why
    it could not be stopped at the timeout, when it could not (a call that does not return to Python
    until it is done): it was stopped as soon as that call returned. ``stopped`` is False where the
    client cannot stop an app at all (the loop outside the main thread, no threads in Pyodide): the
    block ended by itself, and the call fails all the same, having outlasted its timeout.
    """

    def __init__(
        self, phase: str, timeout: float, blocked_for: float, where: str,
        waiting_at: list[Frame] | None = None, uninterruptible: str = "", *, stopped: bool = True,
    ) -> None:
        self.phase = phase
        self.timeout = timeout
        self.waiting_at = waiting_at or []
        self.blocked_for = blocked_for
        self.where = where
        self.uninterruptible = uninterruptible
        self.stopped = stopped
        message = f"the app blocked the event loop for {blocked_for:.1f} s" + (f" in {where}" if where else "")
        message += f", past the client's timeout of {timeout:g} s ({phase})"
        if not stopped:
            reason = f" ({uninterruptible})" if uninterruptible else ""
            message += f"; the client could not stop it{reason}, and it ended by itself"
        elif uninterruptible:
            message += f"; the client could not stop it in time ({uninterruptible}) and stopped it when it returned"
        else:
            message += "; the client stopped it"
        TimeoutError.__init__(self, f"{message}. {BLOCKING_ADVICE}")


class EventLoopBlockedWarning(UserWarning):
    """The app blocked the event loop while the client waited for it (shown once per exchange)."""


# Frames from these packages are machinery; the user's code is what the message should name.
_MACHINERY = (
    "/asyncio/", "/anyio/", "/trio/", "/outcome/", "/starlette/", "/playground/", "/concurrent/", "/threading",
)


def describe_frames(frames: list[Frame]) -> str:
    """Name the innermost frame of the user's own code (no file paths: they differ per kernel)."""
    if not frames:
        return ""
    user = [i for i, f in enumerate(frames)
            if not any(part in f.filename.replace("\\", "/") for part in _MACHINERY)]
    return describe_frame_at(frames, user[-1] if user else len(frames) - 1)


def describe_frame_at(frames: list[Frame], position: int) -> str:
    """``frames[position]`` as an error names it: 'Slow.get, line 5: time.sleep(2) (inside sleep)'."""
    frame = frames[position]
    text = f"{frame.qualname}, line {frame.lineno}"
    if frame.line:
        text += f": {frame.line.strip()}"
    if position + 1 < len(frames):
        # The call that line made (``sleep_forever``), not the loop's innermost frame, which differs per backend.
        text += f" (inside {frames[position + 1].qualname})"
    return text


def frame_of(frame: FrameType, lineno: int | None = None) -> Frame:
    """A frame as errors and displays keep it: names and the source line, not the live frame object
    (which would keep every local of the app alive). ``lineno`` defaults to where the frame is now."""
    code = frame.f_code
    if lineno is None:
        lineno = frame.f_lineno or code.co_firstlineno
    return Frame(code.co_qualname, code.co_filename, lineno,
                 linecache.getline(code.co_filename, lineno, frame.f_globals).strip())


def frames_of(tb: TracebackType | None) -> list[Frame]:
    """The frames of a traceback, outermost first."""
    frames = []
    while tb is not None:
        frames.append(frame_of(tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames
