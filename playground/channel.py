"""A one-way queue of messages between two tasks on the same loop.

Unbounded, so ``put`` never waits: a message is never lost because nobody was reading yet.
``get`` waits on an ``anyio.Event``, so it works on asyncio and trio alike.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class Channel(Generic[T]):
    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiter: anyio.Event | None = None

    def put(self, item: T) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def put_back(self, item: T) -> None:
        """Return an item to the front, for a reader that took it and could not use it."""
        self._items.appendleft(item)

    def get_nowait(self) -> T | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> T:
        while not self._items:
            if self._waiter is None:
                self._waiter = anyio.Event()
            await self._waiter.wait()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)
