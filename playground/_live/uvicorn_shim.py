"""Everything the live server does inside uvicorn rather than through its options or through ASGI.

The rest of the live server speaks ASGI (``served_app``) or uses uvicorn's documented ``Config`` and
``Server.serve(sockets=...)``. What is here has no public way:
- ``UvicornServer.capture_signals()`` does nothing: uvicorn would take over SIGINT and SIGTERM, and the
  kernel's SIGINT handler is how "interrupt" works;
- ``UvicornServer.startup()`` says when the server listens (``ready``), and logs where, as uvicorn
  does only for sockets it bound itself;
- ``UvicornServer.exit()`` sets ``should_exit`` and ``force_exit`` (uvicorn's signal handler does the
  same); ``abort_connections()`` aborts what a forced exit left in ``server_state.connections``;
- ``load()`` runs ``Config.load()`` and replaces the ``http_protocol_class`` it chose by one that ends
  streaming responses on shutdown (``EndsResponsesOnShutdown``): uvicorn lets a response in progress run
  to its end, which an endless stream never reaches, and has no hook to end it as a client's disconnect
  does. Closing the connection and waking the app's ``receive()`` need the protocol's ``cycle``,
  ``flow`` and ``transport``; telling the app is ``ServedApp.cut_short``'s job, in plain ASGI.

Checked against uvicorn 0.54.0 (h11, httptools and zttp) and 0.30.6 (h11 and httptools; zttp came
later), the ends of pyproject.toml's ``uvicorn>=0.30,<0.55``: the canaries and the tests of ``stop()``
in ``tests/live`` pass with both. The attributes used are entries of
``playground/_private_api.py``: ``uvicorn:Server`` and ``uvicorn.protocols.http.*_impl`` (whose
canaries in ``tests/project/test_private_api.py`` fail, naming the attribute, when a release moves one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from collections.abc import Iterator
from typing import Any, Protocol

import uvicorn

from .._private_api import uvicorn_http_protocols


class UvicornServer(uvicorn.Server):
    """uvicorn's server, minus what a kernel must keep for itself."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # _private_api: uvicorn:Server
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d", host, port)
            self.ready.set()

    def exit(self, *, force: bool) -> None:
        """Ask ``serve()`` to return: gracefully (uvicorn's shutdown), or at once."""
        self.should_exit = True
        self.force_exit = force

    def abort_connections(self) -> None:
        """Connections uvicorn did not get to close (a forced exit) must not keep their sockets."""
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()


def load(config: uvicorn.Config) -> None:
    """``config.load()``, with a connection protocol that can end its responses on shutdown.

    An HTTP protocol this does not know could not keep that promise, so it is refused by name.
    """
    config.load()
    known = uvicorn_http_protocols()
    chosen = config.http_protocol_class
    if any(issubclass(chosen, protocol) for protocol in known.values()):
        config.http_protocol_class = _ending_responses_on_shutdown(chosen)
        return
    name = config.http if isinstance(config.http, str) else chosen.__name__
    if getattr(config, "http2", False):
        name += " with http2=True"
    raise ValueError(
        f"serve() cannot run uvicorn's HTTP protocol {name!r}: stop() ends streaming responses only "
        f"with an HTTP/1.1 protocol it knows; pass http= one of {', '.join(map(repr, known))} (or leave "
        "http= out)"
    )


class CutsShort(Protocol):
    """What the protocol tells on shutdown: the app given to ``uvicorn.Config`` (a ``ServedApp``)."""

    def cut_short(self, scope: dict[str, Any]) -> None: ...


class EndsResponsesOnShutdown:  # _private_api: uvicorn.protocols.http.*_impl
    """Mixed into uvicorn's HTTP/1.1 protocol (h11, httptools or zttp) for our servers only.

    On shutdown, a response that has started is ended as if its client had gone (uvicorn's
    ``connection_lost`` path), after the app has been told (``cut_short``); the app then ends on its own.
    Any other connection shuts down as uvicorn's own ``shutdown()`` does.
    """

    config: uvicorn.Config
    cycle: Any  # uvicorn's RequestResponseCycle, None before the first request
    flow: Any
    transport: asyncio.Transport

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is None or not cycle.response_started or cycle.response_complete or cycle.disconnected:
            super().shutdown()  # type: ignore[misc]
            return
        served: CutsShort = self.config.app
        served.cut_short(cycle.scope)
        client_reads = not self.flow.write_paused
        # What uvicorn does when the client goes: receive() answers http.disconnect, a send waiting for
        # the client to read returns, and nothing more is written.
        cycle.disconnected = True
        cycle.message_event.set()
        self.flow.resume_writing()
        if client_reads:
            self.transport.close()  # what is buffered goes out, then the end of the connection
        else:
            self.transport.abort()  # a client that does not read would hold the close for ever


@functools.cache
def _ending_responses_on_shutdown(protocol: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    return type(protocol.__name__, (EndsResponsesOnShutdown, protocol), {"__module__": __name__})
