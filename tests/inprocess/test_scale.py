"""A thousand WebSocket sessions open at once in one loop: every reply reaches its own session.

The speed of this (and of ten thousand) is for ``benchmarks/scale.py``; here it is correctness.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import pytest
from task_census import running_tasks, settled_tasks

from playground import Client, WebSocketEndpoint

SESSIONS = 1_000

pytestmark = pytest.mark.anyio


class Echo(WebSocketEndpoint):  # counts its open sessions: the test's measure
    encoding = "json"
    open_now = 0
    most_open = 0
    closed_codes: list[int] = []  # noqa: RUF012 (reset by each test)

    async def on_connect(self, websocket: Any) -> None:
        await websocket.accept()
        Echo.open_now += 1
        Echo.most_open = max(Echo.most_open, Echo.open_now)

    async def on_receive(self, websocket: Any, data: Any) -> None:
        await websocket.send_json({"session": data["session"], "echo": data["n"] * 2})

    async def on_disconnect(self, websocket: Any, close_code: int) -> None:
        Echo.open_now -= 1
        Echo.closed_codes.append(close_code)


async def test_a_thousand_sessions_at_once_without_cross_talk() -> None:
    Echo.open_now = Echo.most_open = 0
    Echo.closed_codes = []
    client = Client(Echo)
    before = running_tasks()
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(client.websocket_connect("/ws")) for _ in range(SESSIONS)]
        assert Echo.open_now == SESSIONS  # all open at the same time
        for round_ in range(3):
            # Everyone speaks first, then everyone listens: replies queue up per session meanwhile.
            for number, session in enumerate(sessions):
                await session.send_json({"session": number, "n": number * 10 + round_})
            for number, session in enumerate(sessions):
                assert await session.receive_json() == {"session": number, "echo": (number * 10 + round_) * 2}
    assert Echo.most_open == SESSIONS and Echo.open_now == 0
    assert Echo.closed_codes == [1000] * SESSIONS
    assert all(session.closed_by == "client" and session.close_code == 1000 for session in sessions)
    assert await settled_tasks(before) == before
