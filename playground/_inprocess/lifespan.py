"""The ASGI lifespan protocol: startup before the first request, shutdown after the last.

The app's lifespan call runs as a task for as long as the client is open. ``state`` is the dict the
app fills at startup; every request's scope gets a shallow copy of it.
"""

from __future__ import annotations

from typing import Any, Literal

from .._asgi import ASGIApp
from ..errors import LifespanError
from ..trace import Trace
from .app_task import APP_ENDED, AppTask
from .channel import Channel
from .scope import ASGI

LifespanMode = Literal["auto", "on", "off"]


def _failure(reply: dict[str, Any], exception: BaseException | None) -> str:
    """What a ``*.failed`` message says; Starlette puts a whole traceback there, the cause says it in a line."""
    message = str(reply.get("message") or "").strip()
    if exception is not None and (not message or "\n" in message):
        return repr(exception)
    return message or "(no message)"


class Lifespan:
    def __init__(self, app: ASGIApp, *, timeout: float | None, grace: float, mode: LifespanMode) -> None:
        self.timeout = timeout
        self.grace = grace
        self.mode = mode
        self.state: dict[str, Any] = {}
        self.supported: bool | None = None  # None until startup has run
        scope = {"type": "lifespan", "asgi": dict(ASGI), "state": self.state}
        self.trace = Trace(scope)
        self.to_app: Channel[dict[str, Any]] = Channel()
        self.to_client: Channel[dict[str, Any] | tuple[str]] = Channel()  # the app's replies, then APP_ENDED
        self.task = AppTask(app, scope, self._receive, self._send, self.trace, self.to_client)

    async def _receive(self) -> dict[str, Any]:
        message = await self.to_app.get()
        self.trace.record("receive", message)
        return message

    async def _send(self, message: dict[str, Any]) -> None:
        self.trace.record("send", message)
        self.to_client.put(message)

    async def _reply(self, phase: str) -> dict[str, Any] | tuple[str]:
        __tracebackhide__ = True
        return await self.task.next_from(self.to_client, phase, self.timeout, self.grace)

    async def startup(self) -> None:
        __tracebackhide__ = True
        if self.mode == "off":
            self.supported = False
            return
        self.task.start()
        self.to_app.put({"type": "lifespan.startup"})
        reply = await self._reply("lifespan startup")
        kind = None if reply is APP_ENDED else reply["type"]  # type: ignore[call-overload]
        if kind == "lifespan.startup.complete":
            self.supported = True
            return
        if kind == "lifespan.startup.failed":
            self.supported = True
            await self.task.wait(self.grace)
            raise LifespanError(
                f"lifespan startup failed: {_failure(reply, self.task.exception)}"
            ) from self.task.exception
        # The call ended before answering: the app does not speak lifespan (or crashed at once).
        if self.task.exception is not None and self.trace.events:
            # It took 'lifespan.startup' and then raised: a failed startup, not a missing protocol.
            self.supported = True
            raise LifespanError(
                f"lifespan startup failed: the app raised {self.task.exception!r} after receiving "
                "'lifespan.startup'"
            ) from self.task.exception
        self.supported = False
        if self.mode == "on":
            raise LifespanError(
                "the app does not support the lifespan protocol: it "
                + (f"raised {self.task.exception!r}" if self.task.exception else "returned")
                + " on the 'lifespan' scope; use Client(app, lifespan='auto') to go on without it"
            ) from self.task.exception
        if reply is not APP_ENDED:
            raise LifespanError(f"the app answered lifespan.startup with {kind!r}")

    async def shutdown(self) -> None:
        __tracebackhide__ = True
        if not self.supported or self.task.finished:
            return
        self.to_app.put({"type": "lifespan.shutdown"})
        reply = await self._reply("lifespan shutdown")
        kind = None if reply is APP_ENDED else reply["type"]  # type: ignore[call-overload]
        await self.task.wait(self.grace)
        if kind == "lifespan.shutdown.failed":
            raise LifespanError(
                f"lifespan shutdown failed: {_failure(reply, self.task.exception)}"
            ) from self.task.exception
        if kind != "lifespan.shutdown.complete":
            raise LifespanError(
                "the app's lifespan ended without 'lifespan.shutdown.complete'"
                + (f": it raised {self.task.exception!r}" if self.task.exception else "")
            ) from self.task.exception
