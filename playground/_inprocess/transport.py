"""The in-process transport: requests and WebSocket sessions go straight into the ASGI app.

The client above builds httpx requests; a transport (``client.Transport``) turns them into responses
and sessions. This one calls the app on the caller's own event loop; ``_network.NetworkTransport``
talks to a real server. Not an httpx transport: it speaks the playground's ``Response`` and sessions.
"""

from __future__ import annotations

from typing import Any

import httpx

from .._asgi import ASGIApp, app_name
from ..response import Response
from .http import HTTPExchange, exchange, open_stream
from .lifespan import Lifespan, LifespanMode
from .scope import http_scope, websocket_scope
from .websocket import InProcessWebSocketSession


class InProcessTransport:
    """Requests and WebSocket sessions through ``app`` in-process; the arguments are ``Client``'s, checked there."""

    def __init__(
        self, app: ASGIApp, *, grace: float, raise_app_exceptions: bool, root_path: str,
        client: tuple[str, int], lifespan: LifespanMode, max_message_size: int | None,
        block_threshold: float | None = None,
    ) -> None:
        self.app = app
        self.grace = grace
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client
        self.lifespan_mode = lifespan
        self.max_message_size = max_message_size
        self.block_threshold = block_threshold
        self.lifespan: Lifespan | None = None

    @property
    def state(self) -> dict[str, Any] | None:
        """The state the app's lifespan startup filled; None when no lifespan ran."""
        return self.lifespan.state if self.lifespan is not None and self.lifespan.supported else None

    async def request(self, request: httpx.Request, *, timeout: float | None, stream: bool) -> Response:
        __tracebackhide__ = True
        scope = http_scope(request, root_path=self.root_path, client=self.client, state=self.state)
        run = HTTPExchange(self.app, scope, request, timeout=timeout, grace=self.grace,
                           raise_app_exceptions=self.raise_app_exceptions)
        request.extensions["playground.trace"] = run.trace  # there for an observer even if the call fails
        run.task.watch = self.block_threshold
        return await (open_stream(run) if stream else exchange(run))

    def websocket(self, request: httpx.Request, *, timeout: float | None) -> InProcessWebSocketSession:
        scope = websocket_scope(request, root_path=self.root_path, client=self.client, state=self.state)
        session = InProcessWebSocketSession(self.app, scope, request, timeout=timeout, grace=self.grace,
                                       raise_app_exceptions=self.raise_app_exceptions,
                                       max_message_size=self.max_message_size)
        session.task.watch = self.block_threshold
        return session

    async def startup(self, timeout: float | None) -> None:
        __tracebackhide__ = True
        running = self.lifespan
        if running is not None and running.supported and not running.task.finished:
            # A second startup would start a second lifespan and leave the first never shut down.
            raise RuntimeError("the app's lifespan is already running on this client (startup has run); "
                               "await client.aclose() first, or use the client as it is")
        self.lifespan = Lifespan(self.app, timeout=timeout, grace=self.grace, mode=self.lifespan_mode)
        self.lifespan.task.watch = self.block_threshold
        await self.lifespan.startup()

    async def shutdown(self) -> None:
        __tracebackhide__ = True
        if self.lifespan is not None:
            lifespan, self.lifespan = self.lifespan, None
            await lifespan.shutdown()

    def describe(self) -> str:
        return app_name(self.app)
