"""Talking to a WebSocket endpoint step by step, as a ``%%ws`` cell or a ``WEBSOCKET`` request does.

After each message the app's replies are taken before the next one goes out, with the session's
``receive_replies()``: in-process, "the app has nothing more to say" is exact (it waits in
``receive()`` with nothing queued); over the network it can only be guessed (no message for the
session's ``quiet_period``).
"""

from __future__ import annotations

from typing import Any

from ..client import UNSET, Client
from ..errors import WebSocketDenied
from ..httpfile import Send, WaitForServer
from ..websocket import WebSocketSession

__all__ = ["converse"]


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
    """Receive what the app says after a message, until it waits for the client again; how many
    messages (a close ends the replies and is not one)."""
    return sum(message["type"] != "websocket.close" for message in await session.receive_replies())
