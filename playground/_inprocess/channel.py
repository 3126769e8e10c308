"""A one-way queue of messages between two tasks on the same loop, with a timeout on every wait.

Unbounded, so ``put`` never waits: a message is never lost because nobody was reading yet. Waiting
is the hot path of every exchange, so it uses the running loop's own primitives: on asyncio a future
that a timer resolves when the time is up (no cancellation involved), on trio an event under
``move_on_after``.
"""

from __future__ import annotations

import asyncio
import math
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


class _Timeout:
    def __repr__(self) -> str:
        return "TIMEOUT"


#: A timed wait wakes the loop this often (seconds). A Jupyter kernel acts on Kernel → Interrupt only
#: when its loop wakes up: without this, interrupting a cell that awaits a hung app would take effect
#: when the client's timeout ran out, not at once.
WAKE_EVERY = 0.1

#: What ``get`` returns when nothing came in time.
TIMEOUT: Any = _Timeout()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, or None (under trio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@types.coroutine
def _one_pass() -> Generator[None, None, None]:
    """Let the loop run everything else that is ready once: ``asyncio.sleep(0)`` without the coroutine
    around this bare yield."""
    yield


def _wake(waiter: Any) -> None:
    if isinstance(waiter, asyncio.Future):
        if not waiter.done():
            waiter.set_result(None)
    else:
        waiter.set()


class Channel(list[T]):
    """The items waiting, oldest first; ``put`` adds one and wakes a waiting reader.

    A list itself rather than an object around one: a session keeps two channels for as long as it
    is open, and with thousands open every object is more work for the garbage collector, and every
    byte is more for the caches (an empty ``deque`` is 760 bytes, an empty list 56). Taking from the
    front moves a read position instead of the items; the list is emptied once all are taken, so it
    is true exactly when an item is waiting. Its interface is that truth value, ``put``,
    ``put_back``, ``get_nowait`` and the waits: ``len()`` and iteration also see the taken slots.
    """

    __slots__ = ("_head", "_waiters")

    def __init__(self) -> None:
        super().__init__()
        self._head = 0  # where the oldest waiting item is; those before it were taken
        # None, the one waiter (the usual case), or a list when several wait at once.
        self._waiters: Any = None

    def __repr__(self) -> str:
        return f"Channel({list.__repr__(self[self._head:])})"

    def put(self, item: T) -> None:
        self.append(item)
        waiters = self._waiters
        if waiters is not None:
            self._waiters = None
            if type(waiters) is list:
                for waiter in waiters:
                    _wake(waiter)
            else:
                _wake(waiters)

    def put_back(self, item: T) -> None:
        """Return an item to the front, for a reader that took it and could not use it."""
        if self._head:
            self._head -= 1
            self[self._head] = item
        else:
            self.insert(0, item)

    def get_nowait(self) -> T | None:
        if not self:
            return None
        head = self._head
        item = self[head]
        head += 1
        if head == len(self):
            self.clear()  # all taken: true again only when the next item comes
            head = 0
        elif head >= 64 and head * 2 >= len(self):
            del self[:head]  # a long backlog: drop the taken half, so taking stays O(1) on average
            head = 0
        else:
            self[head - 1] = None  # type: ignore[call-overload]  # let the taken item go now
        self._head = head
        return item

    def arrival(self) -> Awaitable[Any]:
        """Await it for the next ``put`` (then look again), with no time limit.

        On asyncio this is a plain future, not a coroutine: a reader that waits long, such as an app
        idle in ``receive()`` while thousands of sessions are open, keeps one object less alive.
        """
        try:  # asked here, not through running_loop(): this is every exchange's hot path
            future = asyncio.get_running_loop().create_future()
        except RuntimeError:  # no asyncio loop: trio
            return self._wait_trio(None)
        self._add_waiter(future)
        return future

    def wait(self, timeout: float | None = None) -> Coroutine[Any, Any, bool]:
        """Wait until an item is there; False when ``timeout`` seconds passed first."""
        return self.get(timeout, take=False)

    # ``wait`` hands out ``get``'s own coroutine, the asyncio wait written out in it: a waiting task
    # keeps every level of its coroutine chain alive, so each level less is one object less for every
    # session that waits (and one call less for every exchange).
    async def get(self, timeout: float | None = None, *, take: bool = True) -> Any:
        """The next item, or ``TIMEOUT`` when none came within ``timeout`` seconds."""
        if not self:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no asyncio loop: trio
                if not await self._wait_trio(timeout):
                    return TIMEOUT if take else False
                return self.get_nowait() if take else True
            # Most answers come within one pass of the loop (the other task runs next): look again
            # after one yield before paying for a future and a timer.
            await _one_pass()
            if self:
                return self.get_nowait() if take else True
            deadline = None if timeout is None else loop.time() + timeout
            while not self:
                future = loop.create_future()
                self._add_waiter(future)
                # A delay, never a time: the deadline may just have passed, and Pyodide's loop refuses
                # to schedule in the past (CPython's runs such a timer at once).
                timer = None if deadline is None else loop.call_later(
                    max(0.0, min(deadline - loop.time(), WAKE_EVERY)), _wake, future)
                try:
                    await future
                finally:
                    if timer is not None:
                        timer.cancel()
                    self._drop_waiter(future)
                if deadline is not None and not self and loop.time() >= deadline:
                    return TIMEOUT if take else False
        return self.get_nowait() if take else True

    def _add_waiter(self, waiter: Any) -> None:
        waiters = self._waiters
        # A future from ``arrival()`` whose reader was cancelled stays until replaced here or woken.
        if waiters is None or (isinstance(waiters, asyncio.Future) and waiters.done()):
            self._waiters = waiter
        elif type(waiters) is list:
            waiters.append(waiter)
        else:
            self._waiters = [waiters, waiter]

    def _drop_waiter(self, waiter: Any) -> None:
        waiters = self._waiters
        if waiters is waiter:
            self._waiters = None
        elif type(waiters) is list and waiter in waiters:
            waiters.remove(waiter)

    async def _wait_trio(self, timeout: float | None) -> bool:
        import trio

        with trio.move_on_after(math.inf if timeout is None else timeout):
            while not self:
                event = trio.Event()
                self._add_waiter(event)
                try:
                    await event.wait()
                finally:
                    self._drop_waiter(event)
        return bool(self)
