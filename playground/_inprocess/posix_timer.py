"""A POSIX timer that signals one thread at a fixed interval: Linux's ``timer_create`` with
``SIGEV_THREAD_ID``, through ctypes (the standard library's ``signal.setitimer`` has one timer for
the whole process, which pytest-timeout and others use, and signals whichever thread it likes).

The watchdog uses it to look at the event loop from the main thread itself, in the signal's handler.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

CLOCK_MONOTONIC = 1
SIGEV_THREAD_ID = 4  # Linux: deliver to the thread in sigev_notify_thread_id


class _SigEvent(ctypes.Structure):
    # struct sigevent on Linux (64 bytes on every architecture): the union's first member is the thread id
    _fields_ = [("sigev_value", ctypes.c_void_p), ("sigev_signo", ctypes.c_int), ("sigev_notify", ctypes.c_int),
                ("sigev_notify_thread_id", ctypes.c_int), ("_pad", ctypes.c_int * 11)]


class _TimeSpec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _ITimerSpec(ctypes.Structure):
    _fields_ = [("it_interval", _TimeSpec), ("it_value", _TimeSpec)]


def _functions() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]:
    if not sys.platform.startswith("linux"):
        raise OSError(f"no timer_create with SIGEV_THREAD_ID on {sys.platform}")
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "timer_create"):  # glibc before 2.34 keeps it in librt
        libc = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
    create, settime = libc.timer_create, libc.timer_settime
    create.argtypes = (ctypes.c_int, ctypes.POINTER(_SigEvent), ctypes.POINTER(ctypes.c_void_p))
    create.restype = ctypes.c_int
    settime.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_ITimerSpec), ctypes.c_void_p)
    settime.restype = ctypes.c_int
    return create, settime


def _timespec(seconds: float) -> _TimeSpec:
    whole, fraction = divmod(seconds, 1.0)
    return _TimeSpec(int(whole), int(fraction * 1e9))


class IntervalTimer:
    """Sends ``signum`` to the thread ``native_thread_id`` every ``interval`` seconds while started."""

    def __init__(self, signum: int, native_thread_id: int) -> None:
        create, self._settime = _functions()
        event = _SigEvent(sigev_signo=signum, sigev_notify=SIGEV_THREAD_ID, sigev_notify_thread_id=native_thread_id)
        self._id = ctypes.c_void_p()
        if create(CLOCK_MONOTONIC, ctypes.byref(event), ctypes.byref(self._id)) != 0:
            raise OSError(ctypes.get_errno(), "timer_create failed")

    def start(self, interval: float) -> None:
        period = _timespec(interval)
        self._set(_ITimerSpec(period, period))

    def start_once(self, delay: float) -> None:
        """One signal, ``delay`` seconds from now (unless started again before)."""
        self._set(_ITimerSpec(_TimeSpec(), _timespec(delay)))

    def stop(self) -> None:
        self._set(_ITimerSpec())  # a zero it_value disarms it

    def _set(self, spec: _ITimerSpec) -> None:
        if self._settime(self._id, 0, ctypes.byref(spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timer_settime failed")
