"""A one-way queue of messages between two tasks on the same loop, with a timeout on every wait.

Unbounded, so ``put`` never waits: a message is never lost because nobody was reading yet. Waiting
is the hot path of every exchange, so it uses the running loop's own primitives: on asyncio a future
that a timer resolves when the time is up (no cancellation involved), on trio an event under
``move_on_after``.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Timeout:
    def __repr__(self) -> str:
        return "TIMEOUT"


#: What ``get`` returns when nothing came in time.
TIMEOUT: Any = _Timeout()


def _wake(waiter: Any) -> None:
    if isinstance(waiter, asyncio.Future):
        if not waiter.done():
            waiter.set_result(None)
    else:
        waiter.set()


class Channel(Generic[T]):
    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiters: list[Any] | None = None  # made on the first wait: many channels never wait

    def put(self, item: T) -> None:
        self._items.append(item)
        if self._waiters:
            waiters, self._waiters = self._waiters, None
            for waiter in waiters:
                _wake(waiter)

    def put_back(self, item: T) -> None:
        """Return an item to the front, for a reader that took it and could not use it."""
        self._items.appendleft(item)

    def get_nowait(self) -> T | None:
        return self._items.popleft() if self._items else None

    def peek(self) -> T | None:
        return self._items[0] if self._items else None

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until an item is there; False when ``timeout`` seconds passed first."""
        if self._items:
            return True
        loop = asyncio._get_running_loop()
        if loop is not None:
            return await self._wait_asyncio(loop, timeout)
        return await self._wait_trio(timeout)

    async def get(self, timeout: float | None = None) -> T:
        """The next item, or ``TIMEOUT`` when none came within ``timeout`` seconds."""
        if self._items or await self.wait(timeout):
            return self._items.popleft()
        return TIMEOUT  # type: ignore[no-any-return]

    async def _wait_asyncio(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> bool:
        # Most answers come within one pass of the loop (the other task runs next): look again
        # after one yield before paying for a future and a timer.
        await asyncio.sleep(0)
        if self._items:
            return True
        deadline = None if timeout is None else loop.time() + timeout
        while not self._items:
            future = loop.create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(future)
            timer = None if deadline is None else loop.call_at(deadline, _wake, future)
            try:
                await future
            finally:
                if timer is not None:
                    timer.cancel()
                if self._waiters and future in self._waiters:
                    self._waiters.remove(future)
            if deadline is not None and not self._items and loop.time() >= deadline:
                return False
        return True

    async def _wait_trio(self, timeout: float | None) -> bool:
        import trio

        with trio.move_on_after(math.inf if timeout is None else timeout):
            while not self._items:
                event = trio.Event()
                if self._waiters is None:
                    self._waiters = []
                self._waiters.append(event)
                try:
                    await event.wait()
                finally:
                    if self._waiters and event in self._waiters:
                        self._waiters.remove(event)
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)
