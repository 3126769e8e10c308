"""Counting the tasks alive on the running loop, to show that the client leaves none behind."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import anyio

from playground._inprocess.channel import running_loop


def running_tasks() -> set[Any]:
    """Every task alive on the current loop, asyncio or trio (trio: the whole task tree)."""
    if running_loop() is not None:
        return set(asyncio.all_tasks())
    import trio

    tasks: set[Any] = set()
    pending = [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        tasks.add(task)
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return tasks


async def settled_tasks(baseline: set[Any], within: float = 0.2) -> set[Any]:
    """The running tasks once short-lived ones have ended.

    A half-read async generator (httpx's ``aiter_raw`` inside ``aiter_bytes``) is closed by the loop's
    finalizer in a task of its own when it is collected; that task ends at once, so it is waited for
    briefly. An app task the client failed to end would still be there after ``within`` seconds.
    """
    gc.collect()
    deadline = anyio.current_time() + within
    tasks = running_tasks()
    while tasks != baseline and anyio.current_time() < deadline:
        await anyio.sleep(0.01)
        tasks = running_tasks()
    return tasks
