"""``serve(app)``: uvicorn on the kernel's own event loop, as a task, behind a small handle.

``uvicorn.run`` starts its own loop and fails inside a running one (a notebook kernel always has one);
the documented alternative is ``uvicorn.Config`` plus ``await Server.serve()``, run here as a task.
Three things uvicorn does for a command-line server are wrong inside a kernel and are changed:
- it takes over SIGINT and SIGTERM when it runs on the main thread: here it never touches signals;
- it prints its log to stderr: here each server keeps its own lines, in ``server.logs``;
- a failed start calls ``sys.exit``: here it raises an error that says why.

On ``stop()`` open WebSockets are closed with 1001 (going away) before uvicorn shuts down, and a response
still streaming (server-sent events, say) is ended the way a client's disconnect ends it: the app's
``receive()`` answers ``http.disconnect``, its next ``send()`` raises ``OSError`` and the connection closes.
Only what does not end then waits out uvicorn's graceful period and is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import html
import ipaddress
import logging
import socket
import sys
import urllib.parse
import warnings
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Any

import uvicorn
from starlette.requests import ClientDisconnect

from ._asgi import ASGIApp, app_name
from ._live.browser_link import BrowserLink, browser_link, check_public_url, jupyter_base_url, proxied_path
from ._private_api import uvicorn_http_protocols
from .errors import ClientDisconnected

__all__ = ["NetworkExposureWarning", "Server", "ServerStartupError", "serve"]

LOOPBACK = "127.0.0.1"
MAX_LOG_LINES = 1000
_UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access", "uvicorn.asgi")
_NOT_HERE = frozenset({"uds", "fd", "workers", "reload", "reload_dirs", "reload_includes", "reload_excludes"})


class NetworkExposureWarning(UserWarning):
    """The server listens on an address other machines may reach."""


class ServerStartupError(RuntimeError):
    """The server did not start (the app's lifespan startup failed, or uvicorn gave up)."""


def serve(app: ASGIApp, host: str = LOOPBACK, port: int = 0, *, public_url: str | None = None,
          startup_timeout: float = 10.0, **uvicorn_options: Any) -> Server:
    """Serve ``app`` with uvicorn on the running asyncio loop; ``await`` it, or ``async with`` it.

    ``host`` defaults to loopback and ``port=0`` to a free port (``server.url`` has the real one, for
    clients in the kernel). ``server.link`` is what a learner's browser opens: through
    jupyter-server-proxy when the kernel's Jupyter server has it, else ``server.url``; ``public_url``
    sets it outright (``{port}`` in it becomes the port).
    Other keyword arguments go to ``uvicorn.Config`` (``lifespan``, ``ws_max_size``, ``root_path``...).
    """
    return Server(app, host, port, public_url=public_url, startup_timeout=startup_timeout, **uvicorn_options)


# -- logging: uvicorn's loggers are global, so each line is routed to the server whose task logged it ----

_current_server: contextvars.ContextVar[Server | None] = contextvars.ContextVar("playground_server",
                                                                                  default=None)


class ServerLog(logging.Handler):
    """One server's log lines, formatted like uvicorn's console (``INFO: ...``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted must not break the server
            self.handleError(record)
        if len(self.lines) > MAX_LOG_LINES:
            del self.lines[: len(self.lines) - MAX_LOG_LINES]


class _RouteToServer(logging.Filter):
    """On uvicorn's loggers while a server runs: a record logged inside one of our servers goes to that
    server's log and no further (so never to stderr); any other record passes untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.users = 0
        # uvicorn logs access lines only when the access logger has a handler somewhere above it.
        self.null_handler = logging.NullHandler()

    def filter(self, record: logging.LogRecord) -> bool:
        server = _current_server.get()
        if server is None:
            return True
        server._log.handle(record)
        return False

    def acquire(self) -> None:
        if self.users == 0:
            for name in _UVICORN_LOGGERS:
                logging.getLogger(name).addFilter(self)
            logging.getLogger("uvicorn").addHandler(self.null_handler)
        self.users += 1

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            for name in _UVICORN_LOGGERS:
                logging.getLogger(name).removeFilter(self)
            logging.getLogger("uvicorn").removeHandler(self.null_handler)


_router = _RouteToServer()


# -- uvicorn, minus what a kernel must keep for itself ------------------------------------------------


class _UvicornServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # _private_api: uvicorn:Server
        # The kernel's SIGINT handler is how "interrupt" works; uvicorn would replace it.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d", host, port)
            self.ready.set()


class _GoingAway:
    """Wraps the app: knows its open WebSockets, so ``stop()`` can close them with 1001, and the lifespan
    task, so a forced stop can cancel an app stuck in startup or shutdown.

    Each call also names its server for the log router, so the lines land in ``server.logs`` even when
    uvicorn runs a request in a fresh context (its ``reset_contextvars`` option).

    A request that came through jupyter-server-proxy's ``proxy/absolute/<port>/`` keeps that prefix in its
    path; its scope gets the prefix as ``root_path`` (ASGI: the path includes it), so an app that writes
    its own URLs (``url_for``, redirects) writes them under the prefix. Other requests are left as sent.
    """

    def __init__(self, app: ASGIApp, server: Server) -> None:
        self.app = app
        self.server = server
        self.absolute_prefix: str | None = None  # "<base_url>proxy/absolute/<port>", behind a Jupyter server
        self.open: set[_OpenWebSocket] = set()
        self.lifespan_task: asyncio.Task[Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        _current_server.set(self.server)
        if scope["type"] == "lifespan":
            self.lifespan_task = asyncio.current_task()
        elif self.absolute_prefix is not None and not scope.get("root_path"):
            path, prefix = scope["path"], self.absolute_prefix
            if path == prefix or path.startswith(prefix + "/"):
                scope = {**scope, "root_path": prefix}
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        websocket = _OpenWebSocket(send)
        self.open.add(websocket)
        try:
            await self.app(scope, receive, websocket.send)
        finally:
            self.open.discard(websocket)

    async def close_all(self) -> None:
        await asyncio.gather(*(websocket.going_away() for websocket in list(self.open)),
                             return_exceptions=True)


class _OpenWebSocket:
    def __init__(self, send: Any) -> None:
        self._send = send
        self.accepted = False
        self.closed = False
        self.went_away = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.went_away:
            if message.get("type") == "websocket.close":
                return  # closed already, by the server going away
            raise ClientDisconnected("the server is shutting down; the WebSocket was closed with 1001")
        kind = message.get("type")
        if kind == "websocket.accept":
            self.accepted = True
        elif kind in ("websocket.close", "websocket.http.response.start"):
            self.closed = True
        await self._send(message)

    async def going_away(self) -> None:
        if self.accepted and not self.closed:
            self.closed = self.went_away = True
            await self._send({"type": "websocket.close", "code": 1001, "reason": "server shutting down"})


class _EndsResponsesOnShutdown:  # _private_api: uvicorn.protocols.http.*_impl
    """Mixed into uvicorn's HTTP/1.1 protocol (h11, httptools or zttp) for our servers only.

    uvicorn's own ``shutdown()`` lets a response in progress run to its end, which an endless stream
    never reaches: it is cancelled after the graceful period, with an error in the log. Here a response
    that has started is ended as if its client had gone (uvicorn's ``connection_lost`` path) and the app,
    told so, ends on its own. It is told the way it listens: an app waiting in ``receive()`` gets
    ``http.disconnect`` and its later sends are dropped, as uvicorn drops them for a client that has gone
    (Starlette's StreamingResponse, under uvicorn's ASGI 2.3, then cancels the body generator, whose
    ``finally`` runs at once; an ``OSError`` from send would leave the generator to be finalized later);
    any other app's next ``send()`` raises ``OSError``, as ASGI 2.4 says.
    """

    app: Any
    cycle: Any  # uvicorn's RequestResponseCycle, None before the first request
    flow: Any
    transport: asyncio.Transport
    logger: logging.Logger

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.going_away = False
        self.receiving = 0  # the app's receive() calls now waiting
        self.heard_by_receive = False
        self.app = functools.partial(self._run_app, self.app)

    async def _run_app(self, app: ASGIApp, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def counted_receive() -> dict[str, Any]:
            self.receiving += 1
            try:
                message: dict[str, Any] = await receive()
                return message
            finally:
                self.receiving -= 1

        async def send_unless_gone(message: dict[str, Any]) -> None:
            if not self.going_away:
                await send(message)  # may wait for the client to read; shutdown() releases that wait
                if not self.going_away:
                    return
            if not self.heard_by_receive:
                raise ClientDisconnected("the server is shutting down; the response was cut short")

        try:
            await app(scope, counted_receive, send_unless_gone)
        except Exception as exc:
            if not (self.going_away and _is_client_gone(exc)):
                raise
            # Told that the client had gone, the app stopped, as it should: not an error to log.

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is None or not cycle.response_started or cycle.response_complete or cycle.disconnected:
            super().shutdown()  # type: ignore[misc]
            return
        self.going_away = True
        self.heard_by_receive = self.receiving > 0
        scope = cycle.scope
        self.logger.info('%s - "%s %s HTTP/%s" cut short: the server is shutting down',
                         _client_address(scope), scope["method"], _target(scope), scope["http_version"])
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


def _is_client_gone(exc: BaseException) -> bool:
    """The error an app ends with when told its client has gone (also inside an exception group)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_client_gone(inner) for inner in exc.exceptions)
    return isinstance(exc, OSError | ClientDisconnect)


@functools.cache
def _ending_responses_on_shutdown(protocol: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    return type(protocol.__name__, (_EndsResponsesOnShutdown, protocol), {"__module__": __name__})


def _client_address(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""


def _target(scope: dict[str, Any]) -> str:
    """The request target as uvicorn's access log writes it."""
    path = urllib.parse.quote(scope.get("root_path", "") + scope["path"])
    return f"{path}?{scope['query_string'].decode('ascii')}" if scope["query_string"] else path


def _protocol_ending_responses(config: uvicorn.Config) -> type[asyncio.Protocol]:
    """The connection protocol ``config`` chose, able to end its responses on ``stop()``.

    An HTTP protocol this does not know could not keep that promise, so it is refused by name.
    """
    known = uvicorn_http_protocols()
    for protocol in known.values():
        if issubclass(config.http_protocol_class, protocol):
            return _ending_responses_on_shutdown(config.http_protocol_class)
    chosen = config.http if isinstance(config.http, str) else config.http_protocol_class.__name__
    if getattr(config, "http2", False):
        chosen += " with http2=True"
    raise ValueError(
        f"serve() cannot run uvicorn's HTTP protocol {chosen!r}: stop() ends streaming responses only "
        f"with an HTTP/1.1 protocol it knows; pass http= one of {', '.join(map(repr, known))} (or leave "
        "http= out)"
    )


# -- the handle -----------------------------------------------------------------------------------------


class Server:
    """A uvicorn server running on the caller's event loop.

    ``url``, ``host``, ``port``; ``link`` (where a learner's browser opens it, and by which way);
    ``logs`` (uvicorn's lines, newest last); ``state``: "not started", "running", "stopped" or "failed".
    ``await server.stop()`` ends it; ``await server`` starts it (again, on the same port, after a stop).
    """

    def __init__(self, app: ASGIApp, host: str = LOOPBACK, port: int = 0, *, public_url: str | None = None,
                 startup_timeout: float = 10.0, **uvicorn_options: Any) -> None:
        if not callable(app):
            raise TypeError(f"serve() needs an ASGI app (a callable), got {app!r:.80}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 (any free port) to 65535, got {port!r}")
        check_public_url(public_url)
        misplaced = _NOT_HERE.intersection(uvicorn_options)
        if misplaced:
            raise ValueError(f"serve() runs one server on this loop; {', '.join(sorted(misplaced))} "
                             "cannot be used here (run uvicorn from a terminal for that)")
        if not _is_loopback(host):
            warnings.warn(
                f"serve() is listening on {host!r}, not only on this machine's loopback: other machines "
                "on the network may reach the app", NetworkExposureWarning, stacklevel=3,
            )
        self.app = app
        self.host = host
        self.port = port
        self.public_url = public_url
        self.startup_timeout = startup_timeout
        self.uvicorn_options = {"log_level": "info", "log_config": None, "timeout_graceful_shutdown": 1,
                                **uvicorn_options}
        self._state = "not started"
        self._log = ServerLog()
        self._uvicorn: _UvicornServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._app: _GoingAway | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def link(self) -> BrowserLink:
        """Where a learner's browser opens this server: ``link.url``, and ``link.via``: "loopback" (the
        same as ``url``), "jupyter-server-proxy" (a path on the Jupyter server the notebook came from)
        or "public_url"."""
        return browser_link(self.port, self.url, self.public_url)

    @property
    def logs(self) -> list[str]:
        return self._log.lines

    @property
    def state(self) -> str:
        if self._state == "running" and (self._task is None or self._task.done()):
            return "stopped"  # uvicorn ended on its own (an error is in the log)
        return self._state

    @property
    def running(self) -> bool:
        return self.state == "running"

    # -- start -------------------------------------------------------------------------------------------

    async def start(self) -> Server:
        if self.running:
            return self
        _require_asyncio()
        self._app = _GoingAway(self.app, self)
        config = uvicorn.Config(self._app, host=self.host, port=self.port, **self.uvicorn_options)
        # The task (and every connection it accepts) runs in a context naming this server: the log router.
        context = contextvars.copy_context()
        context.run(_current_server.set, self)
        _router.acquire()
        try:
            context.run(config.load)
            config.http_protocol_class = _protocol_ending_responses(config)
            listener = _bind(self.host, self.port)
        except BaseException:
            _router.release()
            raise
        self.port = config.port = listener.getsockname()[1]
        base_url = jupyter_base_url()
        if base_url is not None:
            self._app.absolute_prefix = proxied_path(base_url, self.port, absolute=True).rstrip("/")
        self._uvicorn = _UvicornServer(config)
        self._failure = None
        self._task = asyncio.get_running_loop().create_task(self._run(listener), context=context)
        ready = asyncio.ensure_future(self._uvicorn.ready.wait())
        try:
            await asyncio.wait({ready, self._task}, timeout=self.startup_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled (or interrupted) while starting: leave nothing running
            await asyncio.shield(self._finish(force=True))
            self._state = "failed"
            raise
        finally:
            ready.cancel()
        if self._uvicorn.ready.is_set():
            self._state = "running"
            return self
        if not self._task.done():
            await self._finish(force=True)
            self._state = "failed"
            raise ServerStartupError(
                f"the server did not start within {self.startup_timeout:g} s (the app's lifespan startup "
                f"has not finished){self._recent_errors()}"
            )
        failure = self._failure
        await self._finish(force=False)
        self._state = "failed"
        raise ServerStartupError(f"the server did not start{self._recent_errors()}") from failure

    async def _run(self, listener: socket.socket) -> None:
        assert self._uvicorn is not None
        try:
            await self._uvicorn.serve(sockets=[listener])
        except SystemExit as exc:  # uvicorn's way to give up; escaping a task, it would stop the loop
            self._failure = exc
        except Exception as exc:
            self._failure = exc
            logging.getLogger("uvicorn.error").error("the server stopped: %r", exc)
        finally:
            listener.close()

    def _recent_errors(self) -> str:
        errors = [line for line in self.logs if not line.startswith(("INFO", "DEBUG"))]
        return (": " + "\n".join(errors[-5:])) if errors else "; see server.logs"

    # -- stop --------------------------------------------------------------------------------------------

    async def stop(self, timeout: float = 5.0) -> None:
        """Close open WebSockets (1001), end responses still streaming (the app hears ``http.disconnect``),
        give requests not yet answered uvicorn's graceful period, run lifespan shutdown; bounded."""
        if self._task is None:
            return
        assert self._app is not None
        try:
            await asyncio.wait_for(self._app.close_all(), timeout / 2)
        except TimeoutError:
            pass
        await self._finish(force=False, timeout=timeout / 2)
        self._state = "stopped"

    async def _finish(self, *, force: bool, timeout: float = 5.0) -> None:
        server, task = self._uvicorn, self._task
        assert server is not None and task is not None
        server.should_exit = True
        server.force_exit = force
        try:
            if not task.done():
                done, _ = await asyncio.wait({task}, timeout=0 if force else timeout)
                if not done:
                    task.cancel()
                    await asyncio.wait({task})
            lifespan_task = self._app.lifespan_task if self._app is not None else None
            if lifespan_task is not None and not lifespan_task.done():  # stuck in startup or shutdown
                lifespan_task.cancel()
                await asyncio.wait({lifespan_task}, timeout=timeout)
            # Connections uvicorn did not get to close (a forced stop) must not keep their sockets.
            for connection in list(server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()
            await asyncio.sleep(0)  # let the aborted transports run connection_lost
        finally:
            self._task = None
            _router.release()

    # -- await / async with --------------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Server]:
        return self.start().__await__()

    async def __aenter__(self) -> Server:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- display -------------------------------------------------------------------------------------------

    def _app_name(self) -> str:
        return app_name(self.app)

    def __repr__(self) -> str:
        link = self.link
        shown = "" if link.via == "loopback" else f"; in a browser: {link.url} ({link.describe()})"
        return f"<Server {self.url} {self.state}, serving {self._app_name()}{shown}>"

    def _repr_html_(self) -> str:
        link = self.link
        href = html.escape(link.url)
        colour = "#2e7d32" if self.running else "#757575"
        in_kernel = "" if link.via == "loopback" else f"; in the kernel: <code>{html.escape(self.url)}</code>"
        return (
            f'<div class="playground-server">uvicorn serving <code>{html.escape(self._app_name())}</code> at '
            f'<a href="{href}" target="_blank">{href}</a> '
            f'<span style="color: {colour}; font-weight: bold">{html.escape(self.state)}</span> '
            f'<small>({html.escape(link.describe())}{in_kernel})</small></div>'
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so a taken port is a clear error now and port 0 gets its number."""
    bind_host = LOOPBACK if host == "localhost" else host
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(bind_host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.getaddrinfo(bind_host, port, type=socket.SOCK_STREAM)[0][0]
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((bind_host, port))
    except OSError as exc:
        listener.close()
        raise OSError(exc.errno, f"cannot serve on {host}:{port}: {exc.strerror} (is another server, or one "
                                 "not stopped, using this port? port=0 picks a free one)") from None
    listener.setblocking(False)
    return listener


def _require_asyncio() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"serve() runs uvicorn, which needs asyncio, but this code runs under {_event_loop_library()}; "
            "live mode is asyncio-only (the in-process Client(app) works on trio)"
        ) from None


def _event_loop_library() -> str:
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
            return "trio"
        except RuntimeError:
            pass
    return "no event loop"
