"""Talking to a WebSocket endpoint step by step, as a ``%%ws`` cell or a ``WEBSOCKET`` request does.

After each message the app's replies are taken before the next one goes out. In-process, "the app has
nothing more to say" is exact: it waits in ``receive()`` with nothing queued. Over the network it can
only be guessed: no message for ``QUIET_PERIOD`` seconds.
"""

from __future__ import annotations

from typing import Any

import anyio

from ..client import UNSET, Client
from ..errors import WebSocketDenied
from ..httpfile import Send, WaitForServer
from ..websocket import WebSocketSession

__all__ = ["QUIET_PERIOD", "converse"]

#: How long a live (network) session waits for more replies before it sends the next message.
QUIET_PERIOD = 0.2


async def converse(
    client: Client, url: str, steps: list[Send | WaitForServer], headers: list[tuple[str, str]],
    subprotocols: list[str], *, timeout: Any = UNSET, denial_is_a_result: bool = False,
) -> WebSocketSession:
    """Open a session, take each step (send a message, or wait for one), take the replies, close.

    A denial raises ``WebSocketDenied``; with ``denial_is_a_result`` the denied session is returned
    instead (its ``close_code`` is the app's, ``None`` for an HTTP response), for an assertion to judge.
    """
    session = client.websocket_connect(url, subprotocols=subprotocols or None, headers=headers or None,
                                       timeout=timeout)
    try:
        await session.__aenter__()
    except WebSocketDenied:
        if not denial_is_a_result:
            raise
        return session
    try:
        unread = await _take_replies(session)  # a greeting, say
        for step in steps:
            if session.closed:
                break  # the app closed: nothing more can be sent
            if isinstance(step, Send):
                await session.send_text(step.text)
                unread += await _take_replies(session)
            elif unread:
                unread -= 1  # this reply has come already
            else:
                message = await session.receive()
                if message["type"] != "websocket.close":
                    unread += await _take_replies(session)
    except BaseException as exc:
        await session.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    await session.__aexit__(None, None, None)
    return session


async def _take_replies(session: WebSocketSession) -> int:
    """Receive what the app says after a message, until it waits for the client again; how many."""
    to_client, to_app = getattr(session, "to_client", None), getattr(session, "to_app", None)
    if to_client is None or to_app is None or not hasattr(session, "_app_idle"):
        return await _take_replies_until_quiet(session)
    # In-process, "the app has nothing more to say" is exact: it waits in receive() with nothing queued.
    count, spins = 0, 0
    deadline = anyio.current_time() + (session.timeout or 5.0)
    while True:
        if len(to_client):
            message = await session.receive()
            if message["type"] == "websocket.close":
                return count
            count += 1
            continue
        task = getattr(session, "task", None)
        if session.closed or (task is not None and task.finished) or anyio.current_time() > deadline:
            return count
        if session._app_idle and not len(to_app):
            return count
        spins += 1
        await anyio.sleep(0 if spins < 100 else 0.001)


async def _take_replies_until_quiet(session: WebSocketSession) -> int:
    count = 0
    while not session.closed:
        with anyio.move_on_after(QUIET_PERIOD) as scope:
            message = await session.receive()
        if scope.cancelled_caught or message["type"] == "websocket.close":
            break
        count += 1
    return count

