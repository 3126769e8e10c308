"""The watchdog: an app that blocks the event loop while the client waits for it is seen, and stopped.

Every wait of the client has a timeout, but a timeout is a timer on the loop, and an app that blocks
the loop (``time.sleep`` or a long computation in an ``async def`` handler) stops the timers with
it. So the loop is looked at from outside its steps. While a client waits for an app, every
``SAMPLE_EVERY`` seconds something looks whether the app's task is in the middle of a step (its
coroutine is running) and whether it is still the same step: the loop's frame that runs one
callback, below the task's coroutine, is a new frame object for every step. One step that lasts past
the client's threshold is a block; the frames of the loop's thread say where it is.

Who looks. Where the loop runs in the main thread of a Linux process, the main thread itself: a
POSIX timer sends it SIGURG (ignored by default, used by nothing else) every ``SAMPLE_EVERY`` while
a client waits, and the signal's handler runs between two bytecodes of whatever runs, the blocking
app included. A C call such as ``time.sleep`` returns early to run the handler, and resumes after.
Past the timeout the handler raises into the app where it is. Looking from another thread instead
costs a busy loop a tenth to a third of its speed on a two-core machine: that thread takes the GIL
from the loop at every look. A call that does not return to Python on a signal keeps the handler
out: every tick winds a second timer, which signals the (otherwise sleeping) thread once the ticks
have stopped coming for ``TICKS_OVERDUE``; the thread says so in the cell's output, and the next
tick stops the app when the call returns. Python retries its own interrupted system calls (PEP
475); a C extension that does not retry sees EINTR.

Elsewhere (the loop in another thread, another system), a thread looks every ``SAMPLE_EVERY``. With
nothing to wait for, it sleeps on an event; it is started by the first wait. To stop the app it
cannot raise into another thread at an arbitrary moment (the app's step may end just then), so it
asks the main thread to look for itself: ``Py_AddPendingCall`` runs a function there at its next
bytecode boundary, and that function raises into the app (``PyThreadState_SetAsyncExc`` on its own
thread, raised before the next instruction) only if the step it interrupted is still the app's. A C
call such as ``time.sleep`` reaches no boundary until it returns: SIGINT, sent to the main thread,
makes it return early to run the Python signal handler, and that handler's first instruction is such
a boundary. The handler (ipykernel's, or one a user installed) is entered but its body never runs,
so ipykernel schedules no cancel of the cell and a user's handler sees nothing; no handler is replaced.

The limits, said in the error (and at once in the cell's output) when they apply: only the main
thread can be interrupted, so a loop in another thread is watched but its app not stopped; a C call
that does not return to Python on a signal cannot be stopped until it returns; a C call that holds
the GIL keeps every look out, so it is seen, if at all, after it returns. Where threads cannot start
(Pyodide) the loop times itself with a timer that runs late after a block: how long is known, not
where, and nothing can be stopped. asyncio only: a trio run loop keeps one frame for all steps, so a
step cannot be told from the next.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncGenerator
from types import FrameType
from typing import Any

from ..errors import Frame, describe_frame_at, describe_frames, frame_of
from .channel import running_loop

#: How often the thread looks while a client waits (seconds): the precision of a block's duration.
#: Each look takes the GIL from the loop for a moment: on a busy machine, a moment can be a while.
SAMPLE_EVERY = 0.05
#: A watching thread goes back to sleep after this long with nothing waited for. Waking it again costs
#: the next wait a microsecond, once: cheaper than taking the GIL every look while nothing waits.
LINGER = SAMPLE_EVERY
#: After SIGINT, how long the thread gives a C call to return before it says that it cannot stop it.
UNINTERRUPTIBLE_AFTER = 0.5
#: Where the main thread looks at itself and the thread has no timer of its own to wake it when the
#: ticks stop, the thread checks this often that they still come.
SAFETY_EVERY = 1.0
#: The ticks stop after this long with no wait begun (seconds), while the loop runs: cheap, they need
#: not stop sooner. With the loop gone they stop at the next tick: a signal then lands in whatever runs
#: next, such as trio's run, whose closing leaves the signal wakeup fd on a closed socket for a moment.
TICKS_LINGER = 0.5
#: Ticks this late mean a call that does not return to Python on a signal.
TICKS_OVERDUE = 3 * SAMPLE_EVERY
#: The signal of the ticks: its default action is to ignore it, so a tick after its handler was reset
#: does no harm; a Python program has no other use for it (urgent socket data, with F_SETOWN).
TICK_SIGNAL: int | None = getattr(signal, "SIGURG", None)
CANNOT_WAKE = "it is inside a call that does not return to Python when interrupted"

_perf = time.perf_counter


class StopBlockingApp(BaseException):  # not an error of the app's: the client's stop
    """Raised inside an app that blocked the event loop past its timeout; the client turns it into
    ``EventLoopBlocked`` (a BaseException, so that the app's ``except Exception`` lets it through)."""


class Block:
    """What the watchdog saw of one step of an app that kept the event loop for itself."""

    __slots__ = ("_step", "asked", "ended", "frames", "signalled", "started", "stopped", "thread",
                 "timeout", "uninterruptible")

    def __init__(self, started: float, step: FrameType, thread: int, frames: list[Frame]) -> None:
        self.started = started  # perf_counter(): the earliest the step can have begun
        self.ended: float | None = None
        self.frames = frames  # where the loop's thread was, outermost first, innermost last
        self.thread = thread
        self._step = step
        self.timeout: float | None = None  # the wait's timeout, once the block outlasted it
        self.asked: float | None = None  # when the main thread was asked to stop the app
        self.signalled: float | None = None  # when SIGINT was sent to wake a C call
        self.stopped: float | None = None  # when the app was stopped
        self.uninterruptible = ""  # why the client could not stop it, when it could not

    @property
    def duration(self) -> float:
        end = self.stopped or self.ended
        return (end if end is not None else _perf()) - self.started

    def where(self) -> str:
        return describe_block_frames(self.frames)

    def describe(self) -> str:
        """'the app blocked the event loop for 2.1 s in Slow.get, line 5: time.sleep(2)'"""
        where = self.where()
        return f"the app blocked the event loop for {self.duration:.1f} s" + (f" in {where}" if where else "")

    def __repr__(self) -> str:
        return f"<Block {self.describe()}>"


def _library_dirs() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths}
    dirs.add(_PACKAGE)
    return tuple(d.replace("\\", "/").rstrip("/") + "/" for d in dirs)


_LIBRARIES: tuple[str, ...] | None = None
# playground's own directory (this module is in its _inprocess/), with a separator: its frames are machinery
_PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")


def _user_position(frames: list[Frame]) -> int | None:
    global _LIBRARIES
    if _LIBRARIES is None:
        _LIBRARIES = _library_dirs()
    for position in range(len(frames) - 1, -1, -1):
        if not frames[position].filename.replace("\\", "/").startswith(_LIBRARIES):
            return position
    return None


def describe_block_frames(frames: list[Frame]) -> str:
    """The innermost frame of the user's own code (not the standard library's, nor an installed
    package's: a blocking library call is named by the line that made it)."""
    position = _user_position(frames)
    if position is None:
        return describe_frames(frames)
    return describe_frame_at(frames, position)  # and the library call that line made


def user_frame(frames: list[Frame]) -> Frame | None:
    """The frame ``describe_block_frames`` names (the innermost one when none is the user's)."""
    position = _user_position(frames)
    if position is not None:
        return frames[position]
    return frames[-1] if frames else None


# -- the loop's side: cheap, on every wait --------------------------------------------------------

#: The calls a client waits for right now, where the thread (or the loop's own timer) watches them,
#: each ``[timeout, block, timer, due, begun]`` (the loop's own timer and when it is due, where no
#: thread can run, Pyodide's timers not saying when; when the wait began): a block seen is written
#: into the entry, so a block seen late, after the wait has ended, is simply dropped.
_waiting: dict[Any, list[Any]] = {}
#: The calls a client waits for right now, where the main thread's ticks watch them (``call.ticked``,
#: decided when the call starts), with the wait's timeout; the blocks the ticks saw, by call. Kept
#: apart and lean: every wait of the client passes here.
_ticked: dict[Any, float | None] = {}
_ticked_blocks: dict[Any, Block] = {}
_waited = False  # a ticked wait began since the last tick
_sleeping = True  # the thread is not running, or waits on ``_wakeup``
_wakeup = threading.Event()
_thread: threading.Thread | None = None
_unavailable = ""  # why there is no watchdog here, once starting it failed
_checking_ticks_only = False  # the thread sleeps until the ticks stop: only ticked calls wait
_deadman: Any = None  # the thread's timer, wound by every tick: it fires when the ticks stop
_deadman_tried = False
_MAIN = threading.main_thread().ident

_timer: Any = None  # the POSIX timer that ticks the main thread, once made
_ticks_unavailable = ""  # why the main thread cannot tick here, once that is known
_ticking = False  # the timer is running
_in_tick = False
_last_tick = 0.0  # when the last tick ran (perf_counter())
_ticks_idle_since = 0.0
_seen_by_ticks: dict[Any, tuple[FrameType, float]] = {}  # call -> (the step's frame, when it began, about)
_loop_end: Any = None  # (the loop the ticks run for, the async generator its shutdown closes)


def can_tick() -> bool:
    """Whether the main thread's ticks can watch a call that starts now, on this thread's loop."""
    if _ticks_unavailable or threading.get_ident() != _MAIN:
        return False
    return _timer is not None or _prepare_ticks()


def begin(call: Any, timeout: float | None) -> None:
    """The client starts waiting for ``call``'s app."""
    global _waited
    if call.ticked:
        _ticked[call] = timeout
        _waited = True
        if not _ticking:
            _start_ticks(call, timeout)
        return
    entry = _waiting[call] = [timeout, None, None, None, _perf()]
    if _sleeping:
        _wake()
        if _unavailable:
            _tick(call, entry, None)
    elif _checking_ticks_only:
        _wake_checking_thread()  # this wait needs the thread's looks now


def end(call: Any) -> Block | None:
    """The client's wait has ended; the block the app made meanwhile, if any."""
    if call.ticked:
        _ticked.pop(call, None)
        block = _ticked_blocks.pop(call, None) if _ticked_blocks else None
    else:
        entry = _waiting.pop(call, None)
        if entry is None or (entry[1] is None and entry[2] is None):
            return None
        _signalled.discard(call)
        timer = entry[2]
        if timer is not None:  # the loop's own timer, where there is no thread: late now, late after a block
            timer.cancel()
            _late(call, entry, entry[3], asyncio.get_running_loop().time())
        block = entry[1]
    if block is not None and block.ended is None:
        block.ended = _perf()  # the loop is back: the client runs again
    return block


def _wake() -> None:
    global _sleeping, _thread, _unavailable
    if _thread is None or not _thread.is_alive():
        if _unavailable:
            return
        thread = threading.Thread(target=_watch, name="playground watchdog", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # Pyodide/emscripten: no threads
            _unavailable = f"no watchdog thread can run here ({exc})"
            return
        _thread = thread
    _wakeup.set()
    _sleeping = False  # awake from now on (the thread says so itself too): the next waits pass by here


def _tick(call: Any, entry: list[Any], due: float | None) -> None:
    """Where no thread can run (Pyodide), the loop times itself instead: a timer every SAMPLE_EVERY
    that runs late ran after a block. It can say how long, not where, and it cannot stop anything."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    if due is not None:
        _late(call, entry, due, now)
    next_due = now + SAMPLE_EVERY
    entry[2], entry[3] = loop.call_at(next_due, _tick, call, entry, next_due), next_due


def _late(call: Any, entry: list[Any], due: float, now: float) -> None:
    late = now - due
    if late < call.watch:
        return
    block = Block(_perf() - late, None, 0, [])  # type: ignore[arg-type]
    block.ended = _perf()
    if entry[0] is not None and block.duration >= entry[0]:
        block.timeout = entry[0]
    block.uninterruptible = f"{_unavailable}, so the client can neither see where the app is nor stop it"
    if entry[1] is None or entry[1].duration < block.duration:
        entry[1] = block


def _forked() -> None:
    global _sleeping, _thread, _ticking, _timer, _deadman, _deadman_tried, _loop_end
    _sleeping, _thread = True, None  # the thread did not come along: the next wait starts one
    _ticking, _timer = False, None  # nor the timers (the handler did)
    _deadman, _deadman_tried = None, False
    _loop_end = None
    _waiting.clear()
    _ticked.clear()
    _ticked_blocks.clear()
    _seen_by_ticks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def unavailable() -> str:
    """Why this process has no watchdog, or ''."""
    return _unavailable


# -- the main thread's ticks: where the loop runs in the main thread (Linux) --------------------------


def _prepare_ticks() -> bool:
    """Make the timer and install the handler, once; False (and never again) where it cannot be."""
    global _timer, _ticks_unavailable
    try:
        if TICK_SIGNAL is None:
            raise OSError("this system has no SIGURG")
        handler = signal.getsignal(TICK_SIGNAL)
        if handler is not _on_tick and handler not in (signal.SIG_DFL, signal.SIG_IGN):
            raise OSError(f"SIGURG has a handler of its own here ({handler!r})")
        from .posix_timer import IntervalTimer

        timer = IntervalTimer(TICK_SIGNAL, threading.main_thread().native_id)
        signal.signal(TICK_SIGNAL, _on_tick)
    except (OSError, ValueError, AttributeError, TypeError) as exc:  # no Linux timer, a handler of another's
        _ticks_unavailable = f"the main thread cannot be signalled here ({exc})"
        return False
    _timer = timer
    return True


def _start_ticks(call: Any, timeout: float | None) -> None:
    """A ticked wait began with the ticks stopped: start them (and the thread, for their timer)."""
    global _ticking, _ticks_unavailable, _last_tick, _ticks_idle_since
    try:
        handler = signal.getsignal(TICK_SIGNAL)  # type: ignore[arg-type]
        if handler is not _on_tick:  # someone else's since: theirs stays
            raise OSError(f"SIGURG has a handler of its own here ({handler!r})")
        _stop_with_the_loop()
        _last_tick = _ticks_idle_since = _perf()
        _timer.start(SAMPLE_EVERY)
    except OSError as exc:  # from now on the thread watches instead, this wait too
        _ticks_unavailable = f"the main thread cannot be signalled here ({exc})"
        del _ticked[call]
        call.ticked = False
        begin(call, timeout)
        return
    _ticking = True
    if _deadman is not None:
        _wind_deadman(True)
    if _sleeping:
        _wake()


async def _until_the_loop_ends() -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if _ticking:
            _stop_ticks()


def _stop_with_the_loop() -> None:
    """Stop the ticks when the running loop shuts down, not up to a tick later: a tick then lands in
    whatever runs next (trio's run, say, whose closing leaves the signal wakeup fd on a closed socket
    for a moment). ``asyncio.run`` and ``asyncio.Runner`` close the async generators the loop has
    begun: one of ours, left at its first ``yield``, stops them."""
    global _loop_end
    loop = asyncio.get_running_loop()
    if _loop_end is not None:
        if _loop_end[0] is loop:
            return
        _close_at_once(_loop_end[1])  # a loop closed without closing its generators; or never closed
    ending = _until_the_loop_ends()
    _close_at_once(ending, start=True)
    _loop_end = (loop, ending)


def _close_at_once(ending: Any, start: bool = False) -> None:
    """Run the generator to its first ``yield`` (``start``), or close it, here and now: it awaits nothing."""
    try:
        (ending.asend(None) if start else ending.aclose()).send(None)
    except (StopIteration, RuntimeError):
        pass


def _at_exit() -> None:
    if _loop_end is not None:
        _close_at_once(_loop_end[1])  # not left to be finalized on a loop closed by then


atexit.register(_at_exit)


def _stop_ticks() -> None:
    global _ticking
    _ticking = False
    try:
        _timer.stop()
    except OSError:
        pass


def _wind_deadman(watched: bool) -> None:
    try:
        if watched:
            _deadman.start_once(TICKS_OVERDUE)
        else:
            _deadman.stop()
    except OSError:
        pass


def _wake_checking_thread() -> None:
    if _deadman is not None and _thread is not None and _thread.ident is not None:
        signal.pthread_kill(_thread.ident, TICK_SIGNAL)  # type: ignore[arg-type]  # it waits for its timer's
    else:
        _wakeup.set()


def _make_deadman() -> None:
    """In the thread: a timer of its own (its signal blocked here, so it is waited for, never handled)."""
    global _deadman, _deadman_tried
    _deadman_tried = True
    try:
        from .posix_timer import IntervalTimer

        signal.pthread_sigmask(signal.SIG_BLOCK, {TICK_SIGNAL})
        _deadman = IntervalTimer(TICK_SIGNAL, threading.get_native_id())
    except (OSError, ValueError, AttributeError):
        _deadman = None


def _on_tick(signum: int, frame: FrameType | None) -> None:
    """The signal's handler: the main thread looks at itself, between two bytecodes of whatever it runs."""
    global _in_tick, _last_tick, _ticks_idle_since, _waited
    if _in_tick:  # a tick that came during a tick
        return
    try:  # first: the thread's stop may be raised anywhere in here (its pending call ran during a tick)
        _in_tick = True
        now = _perf()
        previous, _last_tick = _last_tick, now
        watched = _waited or bool(_ticked)
        _waited = False
        for call, timeout in list(_ticked.items()):
            try:
                _look_from_inside(call, timeout, previous, now, frame)
            except Exception:  # never into the code it interrupted (but the stop, a BaseException)
                _seen_by_ticks.pop(call, None)
        for call in [c for c in _seen_by_ticks if c not in _ticked]:  # waits that ended: let their calls go
            del _seen_by_ticks[call]
        if _deadman is not None:
            _wind_deadman(watched)
        if watched:
            _ticks_idle_since = now
        elif now - _ticks_idle_since >= TICKS_LINGER or running_loop() is None:
            _seen_by_ticks.clear()
            _stop_ticks()
            if _deadman is not None:
                _wind_deadman(True)  # once more: it wakes the thread, which can now sleep on its event
    finally:
        _in_tick = False


def _look_from_inside(call: Any, timeout: float | None, previous: float, now: float, frame: FrameType | None) -> None:
    """``previous``: when the last tick ran, and did not see this step yet."""
    running = _in_a_step(call)
    if running is None:
        _seen_by_ticks.pop(call, None)
        return
    coro, step = running
    app_frame = coro.cr_frame
    started = _first_seen(_seen_by_ticks, call, step, _began_between(previous, now))
    elapsed = now - started
    if elapsed < _threshold(call, timeout):
        return
    frames = _frames_from(frame, app_frame)
    if frames is None:  # the main thread is not inside this app: it runs in another thread's loop
        return
    block = _ticked_blocks.get(call)
    if block is None or block._step is not step:
        block = _ticked_blocks[call] = Block(started, step, _MAIN or 0, frames)
    else:
        block.frames = frames
    if timeout is None or elapsed < timeout or frame is None:
        return
    if frame.f_code.co_filename.startswith(_PACKAGE):
        return  # in the client's own code around the app, not in the app: the next tick
    if block.timeout is None:
        block.timeout = timeout
    if not block.uninterruptible and now - previous >= TICKS_OVERDUE and elapsed - timeout >= SAMPLE_EVERY:
        block.uninterruptible = CANNOT_WAKE  # this tick came late, when the call returned
    block.stopped = now
    raise StopBlockingApp


def _began_between(previous: float, now: float) -> float:
    """When a step first seen ``now`` began, about: after the last tick ran, and before the next was due
    (a tick that comes late was kept out by this step). No wait began in between without a tick first:
    a pending tick runs before the next bytecode, and starting the ticks sets the last one to now."""
    return (previous + min(now, previous + SAMPLE_EVERY)) / 2


def _frames_from(top: FrameType | None, app_frame: FrameType) -> list[Frame] | None:
    """The frames from inside ``app_frame`` down to ``top``, outermost first; None if ``top`` is not inside it."""
    inner: list[FrameType] = []
    frame = top
    while frame is not None and frame is not app_frame:
        inner.append(frame)
        frame = frame.f_back
    if frame is None:
        return None
    return [frame_of(f) for f in reversed(inner)]


def _look_at_overdue(call: Any, timeout: float | None, now: float) -> None:
    """From the thread, when no tick has come for a while: the main thread is inside a call that does
    not return to Python on a signal. If it is the app's, the cell is told now; the tick that comes
    when the call returns stops the app."""
    running = _in_a_step(call)
    if running is None:
        return
    coro, step = running
    started = _first_seen(_seen_by_ticks, call, step, _began_between(_last_tick, now))
    if now - started < _threshold(call, timeout):
        return
    found = _loop_thread_frames(coro.cr_frame)
    if found is None:
        return
    thread, frames = found
    block = _ticked_blocks.get(call)
    if block is None or block._step is not step:
        block = Block(started, step, thread, frames)
        if not (coro.cr_running and coro.cr_frame.f_back is step) or call not in _ticked:  # ended meanwhile
            return
        _ticked_blocks[call] = block
    else:
        block.frames = frames
    if timeout is not None and now - started >= timeout and not block.uninterruptible:
        block.timeout = timeout
        _cannot_stop(block, CANNOT_WAKE)


# -- the thread's side ---------------------------------------------------------------------------


def _watch() -> None:
    global _sleeping, _checking_ticks_only
    seen: dict[Any, tuple[FrameType, float]] = {}  # call -> (the step's frame, when first seen)
    idle_since = looked = _perf()
    interval = 0.0  # woken by a wait: look at once (here as soon as the loop lets go of the GIL)
    ticks_only = False  # the ticks look at every wait: only check that they still come
    while True:
        if not _waiting and not _ticked:
            seen.clear()
            if _ticking:  # they linger: wait for the timer they wind, which an event could not wake
                ticks_only = True
            elif _perf() - idle_since >= LINGER:
                _sleeping = True
                if not _waiting and not _ticked:
                    _wakeup.wait()
                _sleeping = False
                _wakeup.clear()
                idle_since = looked = _perf()
                interval, ticks_only = 0.0, False
        if ticks_only:
            _sleep_while_the_ticks_come()
        elif interval:
            time.sleep(interval)
        interval, ticks_only = SAMPLE_EVERY, False
        previous, looked = looked, _perf()
        if not _waiting and not _ticked:
            continue
        idle_since = looked
        ticks_only = not _look_at_all(seen, previous, looked)


def _sleep_while_the_ticks_come() -> None:
    """Until the ticks stop (the timer they wind fires), or a wait that needs the thread's looks begins
    (``_wake_checking_thread``); a ``SAFETY_EVERY`` at most where the thread has no timer of its own."""
    global _checking_ticks_only
    _checking_ticks_only = True
    if not _deadman_tried:
        _make_deadman()
    if _deadman is not None:
        _wind_deadman(True)  # wound here too, for a call that blocked before the first tick
        signal.sigtimedwait({TICK_SIGNAL}, 10 * SAFETY_EVERY)  # type: ignore[arg-type]
    elif _wakeup.wait(SAFETY_EVERY):
        _wakeup.clear()
    _checking_ticks_only = False


def _look_at_all(seen: dict[Any, tuple[FrameType, float]], previous: float, looked: float) -> bool:
    """One look at every wait; whether any is the thread's to watch. (A function of its own, so that
    nothing of the calls looked at stays referenced while the thread sleeps.)"""
    try:
        entries = list(_waiting.items())
        ticked = list(_ticked.items()) if looked - _last_tick >= TICKS_OVERDUE else []
    except RuntimeError:  # changed while being copied
        return True
    for call, entry in entries:
        try:
            _look_at(call, entry, seen, previous)
        except Exception:  # a call that ended while being looked at: look again next time
            seen.pop(call, None)
    for call, timeout in ticked:
        try:
            _look_at_overdue(call, timeout, looked)
        except Exception:
            pass
    for call in [c for c in seen if c not in _waiting]:
        del seen[call]
    return bool(entries)


def _in_a_step(call: Any) -> tuple[Any, FrameType] | None:
    """The app's coroutine and the loop's frame of the step running it, if it is in the middle of one
    (and run by asyncio's own Handle: with another loop one step cannot be told from the next)."""
    handle = call._handle
    coro = handle.get_coro() if handle is not None else None
    if coro is None or not coro.cr_running:
        return None
    step = coro.cr_frame.f_back
    if step is None or step.f_code not in _STEP_CODES:
        return None
    return coro, step


def _first_seen(seen: dict[Any, tuple[FrameType, float]], call: Any, step: FrameType, began: float) -> float:
    """When ``call``'s current step began, as first seen (``began``, if it is seen now for the first time)."""
    first = seen.get(call)
    if first is None or first[0] is not step:
        seen[call] = (step, began)
        return began
    return first[1]


def _threshold(call: Any, timeout: float | None) -> float:
    """How long a step may last before it is a block: the threshold, or the wait's timeout if shorter."""
    return call.watch if timeout is None else min(call.watch, timeout)


def _look_at(call: Any, entry: list[Any], seen: dict[Any, tuple[FrameType, float]], previous: float) -> None:
    """``previous``: when the thread looked the time before, and did not see this step yet."""
    running = _in_a_step(call)
    if running is None:
        seen.pop(call, None)
        return
    coro, step = running
    now = _perf()
    first = seen.get(call)
    if first is None or first[0] is not step:
        # It began between the last look and this one: halfway, as the best guess. A look made late (the
        # thread was kept from the GIL meanwhile) says nothing of when: what held the GIL need not have
        # been this step.
        seen[call] = (step, (max(previous, now - 2 * SAMPLE_EVERY, entry[4]) + now) / 2)
        return
    started = first[1]
    timeout = entry[0]
    if now - started < _threshold(call, timeout):
        return
    block: Block | None = entry[1]
    found = _loop_thread_frames(coro.cr_frame)
    if found is None:
        return
    thread, frames = found
    if block is None or block._step is not step:
        block = Block(started, step, thread, frames)
        if coro.cr_running and coro.cr_frame.f_back is step:  # still the same step, after the look
            entry[1] = block
        else:
            return
    else:
        block.frames = frames
    if timeout is not None and now - started >= timeout:  # the block has outlasted the wait's timeout
        _stop(call, block, now, timeout)


def _loop_thread_frames(app_frame: FrameType) -> tuple[int, list[Frame]] | None:
    """The thread whose stack holds ``app_frame``, and the frames inside it, outermost first."""
    for thread, top in sys._current_frames().items():
        inner: list[FrameType] = []
        frame: FrameType | None = top
        while frame is not None and frame is not app_frame:
            inner.append(frame)
            frame = frame.f_back
        if frame is app_frame:
            return thread, [frame_of(f) for f in reversed(inner)]
    return None


def _stop(call: Any, block: Block, now: float, entry_timeout: float) -> None:
    global _target
    if block.uninterruptible:
        return
    if block.timeout is None:
        block.timeout = entry_timeout
    if block.thread != threading.main_thread().ident:
        _cannot_stop(block, "the event loop does not run in the main thread, and only the main thread "
                            "can be interrupted safely")
        return
    if _target is None:
        # Ask (again: the main thread declined the last time, being in the client's own code just then).
        _target = (call, block)
        block.asked = block.asked or now
        if _add_pending_call() != 0:
            _cannot_stop(block, "Python's queue of pending calls is full")
        return
    if block.signalled is None:
        if now - block.asked < SAMPLE_EVERY:
            return
        # The main thread has not reached a bytecode since: it is inside a C call. SIGINT wakes it, when
        # a handler is there to run (Python's own, or a Python function: ipykernel's, asyncio's, yours).
        handler = signal.getsignal(signal.SIGINT)
        kill = getattr(signal, "pthread_kill", None)
        if kill is None or not callable(handler):
            why = ("SIGINT is ignored here" if handler is signal.SIG_IGN else
                   "SIGINT has no Python handler here" if kill is not None else "this system has no pthread_kill")
            _cannot_stop(block, f"it is inside a call that does not return to Python, and {why} to wake it")
            return
        block.signalled = now
        _signalled.add(call)
        kill(block.thread, signal.SIGINT)
    elif now - block.signalled >= UNINTERRUPTIBLE_AFTER:
        _cannot_stop(block, "it is inside a call that does not return to Python when interrupted")


def _cannot_stop(block: Block, why: str) -> None:
    """Say it now, in the cell's output: the cell is stuck until the call returns."""
    block.uninterruptible = why
    where = block.where()
    try:
        sys.stderr.write(
            f"playground: the app has blocked the event loop for {block.duration:.1f} s"
            + (f" in {where}" if where else "")
            + f", past the client's timeout of {block.timeout:g} s, and the client cannot stop it: {why}. "
            "The cell goes on when the call returns; to stop it now, restart the kernel.\n"
        )
        sys.stderr.flush()
    except Exception:  # no stderr to say it on: the error will say it later
        pass


# -- the main thread's side: the pending call ------------------------------------------------------

_target: tuple[Any, Block] | None = None  # the call the pending call is to stop, and its block
_signalled: set[Any] = set()  # calls woken with SIGINT: a KeyboardInterrupt in them is the client's


def stopped_by_client(call: Any, exc: BaseException) -> bool:
    """Whether ``exc``, raised in ``call``'s app, is the watchdog's stop (and not the app's own error)."""
    if isinstance(exc, BaseExceptionGroup):
        return any(stopped_by_client(call, inner) for inner in exc.exceptions)
    if isinstance(exc, StopBlockingApp):
        return True
    # SIGINT with Python's default handler: the wake-up raised KeyboardInterrupt itself.
    return isinstance(exc, KeyboardInterrupt) and call in _signalled


def stopped_by_client_leaf(exc: BaseException) -> bool:
    return isinstance(exc, (StopBlockingApp, KeyboardInterrupt))


def app_frames(frames: list[Frame]) -> list[Frame]:
    """The frames a stop came out of, without the tick or the SIGINT handler it was raised in."""
    here = _on_tick.__code__.co_filename
    if frames and frames[-1].filename == here:  # raised by a tick (in _on_tick, or the look it made)
        while frames and frames[-1].filename == here:
            frames = frames[:-1]
        return frames
    handler = getattr(signal.getsignal(signal.SIGINT), "__code__", None)
    if frames and handler is not None and frames[-1].filename == handler.co_filename \
            and frames[-1].qualname == handler.co_qualname:
        return frames[:-1]
    return frames


def mark_stopped(call: Any) -> None:
    """The app has been stopped (seen from the app's task, as the stop comes out of it)."""
    entry = _waiting.get(call)
    block = _ticked_blocks.get(call) if entry is None else entry[1]
    if block is not None and block.stopped is None:
        block.stopped = _perf()


def _on_main_thread(_: Any) -> int:
    """Runs on the main thread between two bytecodes: stop the app if it is what is running."""
    global _target
    target, _target = _target, None
    if target is None:
        return 0
    call, block = target
    try:
        interrupted = sys._getframe(1)
        if _in_tick or interrupted.f_code is _TICK_CODE:
            # During a tick (the ticks and the thread at once: a loop in another thread too): raised
            # here, the stop would cut the tick short. Asked again, it comes at the next bytecode.
            _target = target
            _add_pending_call()
            return 0
        handle = call._handle
        coro = handle.get_coro() if handle is not None else None
        if coro is None or not coro.cr_running or coro.cr_frame.f_back is not block._step:
            return 0  # the step has ended (or a later one runs): nothing to stop
        if interrupted.f_code.co_filename.startswith(_PACKAGE):
            return 0  # in the client's own code around the app, not in the app: ask again later
        frame: FrameType | None = interrupted
        while frame is not None and frame is not coro.cr_frame:
            frame = frame.f_back
        if frame is None:
            return 0  # the main thread is elsewhere
        block.stopped = _perf()
    except Exception:  # a pending call must not raise: it would land anywhere
        return 0
    # The exception is raised when this function has returned, in the frame it interrupted. It must be
    # the last thing done here: after a call, Python checks for a pending exception and would raise it
    # in this function. An item lookup is not followed by that check.
    _raise_on_main_thread[StopBlockingApp]
    return 0


class _RaiseOnMainThread:
    """``_raise_on_main_thread[exc]``: ``PyThreadState_SetAsyncExc(main thread, exc)`` (set up below)."""

    __slots__ = ()


_raise_on_main_thread = _RaiseOnMainThread()
_pending: Any = None


def _add_pending_call() -> int:
    global _pending
    import ctypes
    import functools

    if _pending is None:
        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
        set_async_exc.restype = ctypes.c_int
        main = threading.main_thread().ident
        _RaiseOnMainThread.__getitem__ = staticmethod(functools.partial(set_async_exc, main))  # type: ignore[attr-defined]
        add = ctypes.pythonapi.Py_AddPendingCall
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
        add.argtypes = (callback_type, ctypes.c_void_p)
        add.restype = ctypes.c_int
        _pending = (add, callback_type(_on_main_thread))  # the callback is kept alive here
    add, callback = _pending
    return int(add(callback, None))


def _step_codes() -> frozenset[Any]:
    return frozenset({asyncio.events.Handle._run.__code__})


_STEP_CODES = _step_codes()
_TICK_CODE = _on_tick.__code__  # a tick's frame before it says so in _in_tick
