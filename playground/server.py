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

This module is the handle; the parts, along a request's way, are in ``_live/``: ``listener`` binds the
socket (and tells loopback from the rest), ``uvicorn_shim`` holds all that reaches into uvicorn,
``served_app`` is the ASGI wrapper between uvicorn and the app, ``logs`` routes uvicorn's lines to
``server.logs``, ``browser_link`` says where a browser opens the server; ``display/server.py`` shows it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
import sys
import warnings
from collections.abc import Generator
from types import TracebackType
from typing import Any

import uvicorn

from ._asgi import ASGIApp
from ._live import uvicorn_shim
from ._live.browser_link import BrowserLink, browser_link, check_public_url, jupyter_base_url, proxied_path
from ._live.listener import LOOPBACK, bind, is_loopback
from ._live.logs import ServerLog, current_log, router
from ._live.served_app import ServedApp

__all__ = ["NetworkExposureWarning", "Server", "ServerStartupError", "serve"]

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


# -- the handle -----------------------------------------------------------------------------------------


class Server:
    """A uvicorn server running on the caller's event loop.

    ``url``, ``host``, ``port``; ``link`` (where a learner's browser opens it, and by which way);
    ``logs`` (uvicorn's lines, newest last); ``status``: "not started", "running", "stopped" or "failed"
    (``state`` is its old name, kept).
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
        if not is_loopback(host):
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
        self._status = "not started"
        self._log = ServerLog()
        self._uvicorn: uvicorn_shim.UvicornServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._app: ServedApp | None = None
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
    def status(self) -> str:
        """"not started", "running", "stopped" or "failed" (to start)."""
        if self._status == "running" and (self._task is None or self._task.done()):
            return "stopped"  # uvicorn ended on its own (an error is in the log)
        return self._status

    @property
    def state(self) -> str:
        """The old name of ``status``, kept so code written against it runs."""
        return self.status

    @property
    def running(self) -> bool:
        return self.status == "running"

    # -- start -------------------------------------------------------------------------------------------

    async def start(self) -> Server:
        if self.running:
            return self
        _require_asyncio()
        self._app = ServedApp(self.app, self._log)
        config = uvicorn.Config(self._app, host=self.host, port=self.port, **self.uvicorn_options)
        # The task (and every connection it accepts) runs in a context naming this server's log: the router.
        context = contextvars.copy_context()
        context.run(current_log.set, self._log)
        router.acquire()
        try:
            context.run(uvicorn_shim.load, config)
            listener = bind(self.host, self.port)
        except BaseException:
            router.release()
            raise
        self.port = config.port = listener.getsockname()[1]
        base_url = jupyter_base_url()
        if base_url is not None:
            self._app.absolute_prefix = proxied_path(base_url, self.port, absolute=True).rstrip("/")
        self._uvicorn = uvicorn_shim.UvicornServer(config)
        self._failure = None
        self._task = asyncio.get_running_loop().create_task(self._run(listener), context=context)
        ready = asyncio.ensure_future(self._uvicorn.ready.wait())
        try:
            await asyncio.wait({ready, self._task}, timeout=self.startup_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled (or interrupted) while starting: leave nothing running
            await asyncio.shield(self._finish(force=True))
            self._status = "failed"
            raise
        finally:
            ready.cancel()
        if self._uvicorn.ready.is_set():
            self._status = "running"
            return self
        if not self._task.done():
            await self._finish(force=True)
            self._status = "failed"
            raise ServerStartupError(
                f"the server did not start within {self.startup_timeout:g} s (the app's lifespan startup "
                f"has not finished){self._recent_errors()}"
            )
        failure = self._failure
        await self._finish(force=False)
        self._status = "failed"
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
            await asyncio.wait_for(self._app.close_websockets(), timeout / 2)
        except TimeoutError:
            pass
        await self._finish(force=False, timeout=timeout / 2)
        self._status = "stopped"

    async def _finish(self, *, force: bool, timeout: float = 5.0) -> None:
        server, task = self._uvicorn, self._task
        assert server is not None and task is not None
        server.exit(force=force)
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
            server.abort_connections()
            await asyncio.sleep(0)  # let the aborted transports run connection_lost
        finally:
            self._task = None
            router.release()

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

    def __repr__(self) -> str:
        from .display.server import server_text

        return server_text(self)

    def _repr_html_(self) -> str:
        from .display.server import server_html

        return server_html(self)


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
