"""The watchdog: an app that blocks the event loop while the client waits for it is seen, and stopped.

Every wait of the client has a timeout, but a timeout is a timer on the loop, and an app that blocks
the loop (``time.sleep`` or a long computation in an ``async def`` handler) stops the timers with
it. So a thread looks at the loop from outside. While a client waits for an app, it looks every
``SAMPLE_EVERY`` seconds whether the app's task is in the middle of a step (its coroutine is running)
and whether it is still the same step: the loop's frame that runs one callback, below the task's
coroutine, is a new frame object for every step. One step that lasts past the client's threshold is
a block; the frames of the loop's thread say where it is. With nothing to wait for, the thread
sleeps on an event; it is started by the first wait.

Stopping, once the block outlasts the wait's timeout. A thread cannot safely raise into another at
an arbitrary moment (the app's step may end just then), so it asks the main thread to look for
itself: ``Py_AddPendingCall`` runs a function there at its next bytecode boundary, and that function
raises into the app (``PyThreadState_SetAsyncExc`` on its own thread, raised before the next
instruction) only if the step it interrupted is still the app's. A C call such as ``time.sleep``
reaches no boundary until it returns: SIGINT, sent to the main thread, makes it return early to run
the Python signal handler, and that handler's first instruction is such a boundary. The handler
(ipykernel's, or one a user installed) is entered but its body never runs, so ipykernel schedules
no cancel of the cell and a user's handler sees nothing; no handler is replaced.

The limits, said in the error (and at once in the cell's output) when they apply: the loop must run
in the main thread (pending calls and signal handlers run only there); a C call that does not return
to Python on a signal cannot be stopped until it returns; with SIGINT ignored (``SIG_IGN``) or not
handled from Python a C call is not woken; a C call that holds the GIL keeps the thread itself out,
so it is seen, if at all, after it returns. Where threads cannot start (Pyodide) the loop times
itself with a timer that runs late after a block: how long is known, not where, and nothing can be
stopped. asyncio only: a trio run loop keeps one frame for all steps, so a step cannot be told from
the next.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from ..errors import Frame, describe_frame_at, describe_frames, frame_of

#: How often the thread looks while a client waits (seconds): the precision of a block's duration.
#: Each look takes the GIL from the loop for a moment: on a busy machine, a moment can be a while.
SAMPLE_EVERY = 0.05
#: A watching thread goes back to sleep after this long with nothing waited for. Waking it again costs
#: the next wait a microsecond, once: cheaper than taking the GIL every look while nothing waits.
LINGER = SAMPLE_EVERY
#: After SIGINT, how long the thread gives a C call to return before it says that it cannot stop it.
UNINTERRUPTIBLE_AFTER = 0.5

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

#: The calls a client is waiting for right now, each ``[timeout, block, timer, due]`` (the loop's own
#: timer and when it is due, where no thread can run; Pyodide's timers do not say when): the thread writes a
#: block it sees into the entry, so a block seen late, after the wait has ended, is simply dropped.
_waiting: dict[Any, list[Any]] = {}
_sleeping = True  # the thread is not running, or waits on ``_wakeup``
_wakeup = threading.Event()
_thread: threading.Thread | None = None
_unavailable = ""  # why there is no watchdog here, once starting it failed


def begin(call: Any, timeout: float | None) -> None:
    """The client starts waiting for ``call``'s app."""
    entry = _waiting[call] = [timeout, None, None, None]
    if _sleeping:
        _wake()
        if _unavailable:
            _tick(call, entry, None)


def end(call: Any) -> Block | None:
    """The client's wait has ended; the block the app made meanwhile, if any."""
    entry = _waiting.pop(call, None)
    if _signalled:
        _signalled.discard(call)
    if entry is None:
        return None
    timer = entry[2]
    if timer is not None:  # the loop's own timer, where there is no thread: late now, late after a block
        timer.cancel()
        _late(call, entry, entry[3], asyncio.get_running_loop().time())
    if entry[1] is None:
        return None
    block: Block = entry[1]
    if block.ended is None:
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
    global _sleeping, _thread
    _sleeping, _thread = True, None  # the thread did not come along: the next wait starts one
    _waiting.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def unavailable() -> str:
    """Why this process has no watchdog, or ''."""
    return _unavailable


# -- the thread's side ---------------------------------------------------------------------------


def _watch() -> None:
    global _sleeping
    seen: dict[Any, tuple[FrameType, float]] = {}  # call -> (the step's frame, when first seen)
    idle_since = looked = _perf()
    woken = True
    while True:
        if not _waiting:
            seen.clear()
            if _perf() - idle_since >= LINGER:
                _sleeping = True
                if not _waiting:
                    _wakeup.wait()
                _sleeping = False
                _wakeup.clear()
                idle_since = looked = _perf()
                woken = True
        if not woken:
            time.sleep(SAMPLE_EVERY)
        woken = False  # woken by a wait: look at once (here as soon as the loop lets go of the GIL)
        previous, looked = looked, _perf()
        if not _waiting:
            continue
        idle_since = looked
        try:
            entries = list(_waiting.items())
        except RuntimeError:  # changed while being copied
            continue
        for call, entry in entries:
            try:
                _look_at(call, entry, seen, previous)
            except Exception:  # a call that ended while being looked at: look again next time
                seen.pop(call, None)
        for call in [c for c in seen if c not in _waiting]:
            del seen[call]


def _look_at(call: Any, entry: list[Any], seen: dict[Any, tuple[FrameType, float]], previous: float) -> None:
    """``previous``: when the thread looked the time before, and did not see this step yet."""
    handle = call._handle
    coro = handle.get_coro() if handle is not None else None
    if coro is None or not coro.cr_running:
        seen.pop(call, None)
        return
    step = coro.cr_frame.f_back
    if step is None or step.f_code not in _STEP_CODES:
        return  # not run by asyncio's own Handle (another loop): no way to tell one step from the next
    now = _perf()
    first = seen.get(call)
    if first is None or first[0] is not step:
        # It began between the last look and this one: halfway, as the best guess. A look made late (the
        # thread was kept from the GIL meanwhile) says nothing of when: what held the GIL need not have
        # been this step.
        seen[call] = (step, (max(previous, now - 2 * SAMPLE_EVERY) + now) / 2)
        return
    started = first[1]
    timeout = entry[0]
    if now - started < (call.watch if timeout is None else min(call.watch, timeout)):
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
    """The frames a stop came out of, without the SIGINT handler it was raised in (entered, never run)."""
    handler = getattr(signal.getsignal(signal.SIGINT), "__code__", None)
    if frames and handler is not None and frames[-1].filename == handler.co_filename \
            and frames[-1].qualname == handler.co_qualname:
        return frames[:-1]
    return frames


def mark_stopped(call: Any) -> None:
    """The app has been stopped (seen from the app's task, as the stop comes out of it)."""
    entry = _waiting.get(call)
    if entry is not None and entry[1] is not None and entry[1].stopped is None:
        entry[1].stopped = _perf()


def _on_main_thread(_: Any) -> int:
    """Runs on the main thread between two bytecodes: stop the app if it is what is running."""
    global _target
    target, _target = _target, None
    if target is None:
        return 0
    call, block = target
    try:
        interrupted = sys._getframe(1)
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
