"""playground: define ASGI endpoints in a notebook, drive them from the kernel, see every message.

``serve`` (uvicorn), the HAR export and the IPython extension load on first use, so ``import playground``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import Client
from .display.formatters import register_in_running_ipython as _register_in_running_ipython
from .endpoints import EndpointWarning, HTTPEndpoint, WebSocketEndpoint
from .errors import (
    AppTimeout,
    ASGIProtocolError,
    EventLoopBlocked,
    EventLoopBlockedWarning,
    LifespanError,
    MessageTooLarge,
    WebSocketDenied,
    WebSocketDisconnect,
)
from .response import Response
from .trace import Trace, TraceEvent
from .websocket import WebSocketSession

if TYPE_CHECKING:
    from ._har import save_har, to_har
    from .server import NetworkExposureWarning, Server, ServerStartupError, serve

_SERVER_NAMES = ("NetworkExposureWarning", "Server", "ServerStartupError", "serve")

__version__ = "0.1.0"

__all__ = [
    "ASGIProtocolError",
    "AppTimeout",
    "Client",
    "EndpointWarning",
    "EventLoopBlocked",
    "EventLoopBlockedWarning",
    "HTTPEndpoint",
    "LifespanError",
    "MessageTooLarge",
    "NetworkExposureWarning",
    "Response",
    "Server",
    "ServerStartupError",
    "Trace",
    "TraceEvent",
    "WebSocketDenied",
    "WebSocketDisconnect",
    "WebSocketEndpoint",
    "WebSocketSession",
    "save_har",
    "serve",
    "to_har",
]


def __getattr__(name: str) -> Any:
    if name in _SERVER_NAMES:
        from ._browser import IN_BROWSER, live_mode_unavailable, unavailable_serve

        if IN_BROWSER:  # no uvicorn, no sockets: ``serve`` is there to say so when it is called
            if name == "serve":
                return unavailable_serve
            raise live_mode_unavailable(f"playground.{name}")
        from . import server

        return getattr(server, name)
    if name in ("save_har", "to_har"):  # loaded on first use, like the server
        from . import _har as har

        return getattr(har, name)
    raise AttributeError(f"module 'playground' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext playground``: the ``%http``, ``%%http`` and ``%%ws`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)


# Inside a running IPython, endpoint classes get their display now (IPython is never imported here).
_register_in_running_ipython()
