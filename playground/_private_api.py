"""Every attribute of another library that the playground relies on without that library calling it
public, in one place, with the shape relied on and why no public API does the job.

``tests/project/test_private_api.py`` checks each entry against the installed releases (``make test-latest``:
against the newest), so the day a release moves one, the failing test names it. Code that reaches into
another library goes through a function here or names its entry in a comment.

Last checked against: anyio 4.16.0, httpx 0.28.1, uvicorn 0.54.0 (with zttp 0.0.35), IPython 9.18.1,
CPython 3.11.7.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reliance:
    library: str  # the distribution
    attribute: str  # "module:object.attribute"
    shape: str  # what is relied on
    used_by: str  # where in the playground
    why: str  # why no public API does it
    check: Callable[[], None]  # raises AssertionError (naming the attribute) when the shape has moved


def _has(owner: Any, *names: str, where: str) -> None:
    for name in names:
        assert hasattr(owner, name), f"{where}.{name} is gone"


def _assigns(function: Any, *names: str, where: str) -> None:
    """``function`` still sets (or reads) ``self.<name>``: instance attributes a class makes in a method."""
    code_names = function.__code__.co_names
    for name in names:
        assert name in code_names, f"{where} no longer sets or uses .{name}"


# -- anyio ---------------------------------------------------------------------------------------------


def inside_anyio_shield(task: Any) -> bool:
    """Whether anyio is holding off cancellation for the asyncio ``task`` right now (a shielded scope).

    anyio keeps this per task in its asyncio backend; when that is not there to read (anyio not in
    use, or arranged differently), the answer is no and a cancel goes through at once.
    """
    backend = sys.modules.get("anyio._backends._asyncio")  # not loaded: no anyio scope anywhere
    task_states = getattr(backend, "_task_states", None)
    if task_states is None:
        return False
    state = task_states.get(task)
    scope = getattr(state, "cancel_scope", None)
    while scope is not None:
        if getattr(scope, "shield", False):
            return True
        scope = getattr(scope, "_parent_scope", None)
    return False


def _check_anyio_task_states() -> None:
    from anyio._backends import _asyncio

    states = getattr(_asyncio, "_task_states", None)
    assert states is not None, "anyio._backends._asyncio._task_states is gone"
    assert hasattr(states, "get"), "anyio._backends._asyncio._task_states is no longer a mapping"
    _assigns(_asyncio.TaskState.__init__, "cancel_scope", where="anyio TaskState.__init__")
    _has(_asyncio.CancelScope, "shield", where="anyio's asyncio CancelScope")
    _assigns(_asyncio.CancelScope.__init__, "_parent_scope", where="anyio's asyncio CancelScope.__init__")


# -- httpx ---------------------------------------------------------------------------------------------


def set_read_content(response: Any, body: bytes) -> None:
    """Leave an ``httpx.Response`` as ``read()`` leaves it, with ``body`` as its content (no decoding)."""
    response._content = body
    response.is_stream_consumed = True
    response.is_closed = True


def _check_httpx_content() -> None:
    import httpx

    class Unread(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            raise AssertionError("httpx read the stream of a response whose ._content was set")

    response = httpx.Response(200, stream=Unread())
    set_read_content(response, b"body")
    assert response.content == b"body", "httpx.Response.content no longer returns ._content"
    assert response.read() == b"body" and response.text == "body", "httpx.Response.read() ignores ._content"
    assert list(response.iter_bytes()) == [b"body"], "httpx.Response.iter_bytes() ignores ._content"


# -- uvicorn -------------------------------------------------------------------------------------------

UVICORN_HTTP_PROTOCOLS = (
    # (the ``http=`` option, module, class); each is optional but h11, which uvicorn always has.
    ("h11", "uvicorn.protocols.http.h11_impl", "H11Protocol"),
    ("httptools", "uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol"),
    ("zttp", "uvicorn.protocols.http.zttp_impl", "ZttpProtocol"),
)


def uvicorn_http_protocols() -> dict[str, type]:
    """uvicorn's HTTP/1.1 protocol classes that are installed, by their ``http=`` name."""
    import importlib

    found = {}
    for option, module, name in UVICORN_HTTP_PROTOCOLS:
        try:
            found[option] = getattr(importlib.import_module(module), name)
        except ImportError:  # httptools or zttp is not installed
            continue
    return found


def _check_uvicorn_protocols() -> None:
    import importlib

    protocols = uvicorn_http_protocols()
    assert "h11" in protocols, "uvicorn.protocols.http.h11_impl.H11Protocol is gone"
    for option, protocol in protocols.items():
        where = f"uvicorn's http={option!r} protocol {protocol.__name__}"
        _assigns(protocol.__init__, "config", "transport", "flow", "cycle", where=f"{where}.__init__")
        _has(protocol, "shutdown", where=where)
        cycle = importlib.import_module(protocol.__module__).RequestResponseCycle
        _assigns(cycle.__init__, "scope", "disconnected", "message_event", "response_started",
                 "response_complete", where=f"{where}'s RequestResponseCycle.__init__")
    from uvicorn.protocols.http.flow_control import FlowControl

    _assigns(FlowControl.__init__, "write_paused", where="uvicorn FlowControl.__init__")
    _has(FlowControl, "resume_writing", where="uvicorn FlowControl")
    _check_uvicorn_middlewares_pass_the_scope_on()


def _check_uvicorn_middlewares_pass_the_scope_on() -> None:
    """The app gets the very scope the protocol's cycle holds, through each middleware ``Config.load()`` may
    put in front of it (the app knows its requests by that object; so does the protocol's shutdown)."""
    from uvicorn.middleware.message_logger import MessageLoggerMiddleware
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    reached: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    for middleware in (ProxyHeadersMiddleware(app), MessageLoggerMiddleware(app)):  # type: ignore[arg-type]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
                 "headers": [(b"x-forwarded-for", b"10.0.0.1"), (b"x-forwarded-proto", b"https")],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        reached.clear()
        try:
            middleware(scope, receive, send).send(None)  # nothing in them waits: done at the first step
        except StopIteration:
            pass
        name = type(middleware).__name__
        assert reached and reached[0] is scope, f"uvicorn's {name} no longer passes the protocol's scope on as it is"


def _check_uvicorn_server() -> None:
    import uvicorn

    _has(uvicorn.Server, "capture_signals", "startup", "serve", where="uvicorn.Server")
    _assigns(uvicorn.Server.__init__, "server_state", "started", "should_exit", "force_exit",
             where="uvicorn.Server.__init__")
    from uvicorn.server import ServerState

    _assigns(ServerState.__init__, "connections", where="uvicorn ServerState.__init__")
    _has(uvicorn.Config, "load", where="uvicorn.Config")
    _assigns(uvicorn.Config.load, "http_protocol_class", "loaded", where="uvicorn.Config.load")


# -- IPython ---------------------------------------------------------------------------------------------


def magics_table(shell: Any) -> dict[str, dict[str, Any]]:
    """IPython's registered magics, ``{"line": {...}, "cell": {...}}``: unregistering one has no API."""
    table: dict[str, dict[str, Any]] = shell.magics_manager.magics
    return table


def _check_ipython_magics() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    table = magics_table(shell)
    assert set(table) >= {"line", "cell"}, "IPython's magics_manager.magics has no 'line' and 'cell' tables"
    assert "time" in table["line"], "IPython's magics_manager.magics['line'] does not hold the line magics"


# -- CPython ---------------------------------------------------------------------------------------------


def _check_cpython_interrupts() -> None:
    import asyncio
    import ctypes

    assert hasattr(asyncio.events.Handle, "_run"), "asyncio.events.Handle._run is gone"
    assert hasattr(asyncio.events.Handle._run, "__code__"), "asyncio.events.Handle._run is no longer Python code"
    assert callable(getattr(sys, "_current_frames", None)), "sys._current_frames is gone"
    for name in ("PyThreadState_SetAsyncExc", "Py_AddPendingCall"):
        assert hasattr(ctypes.pythonapi, name), f"the C API has no {name}"


RELIED_ON: tuple[Reliance, ...] = (
    Reliance(
        "anyio", "anyio._backends._asyncio:_task_states", "a mapping from an asyncio task to a state whose "
        ".cancel_scope is the innermost anyio CancelScope; a scope's .shield and ._parent_scope",
        "_inprocess.app_task.AppTask.cancel (through inside_anyio_shield)",
        "a native task.cancel() would break into a shielded anyio scope (Starlette shields some cleanups); "
        "anyio has no API to ask whether another task is shielded, and running every call in a CancelScope "
        "to cancel it anyio's way costs a share of each request",
        _check_anyio_task_states,
    ),
    Reliance(
        "httpx", "httpx:Response._content", "the bytes that read() keeps and .content, .text and "
        "iter_bytes() give; set, with .is_stream_consumed and .is_closed true, the stream is never read",
        "response.read_body (through set_read_content), for a body with no Content-Encoding",
        "read() is the only public way to give a response a body already in memory, and it runs httpx's "
        "streaming pipeline for it (decoder, chunkers, request contexts): a fifth of the instructions of an "
        "in-process request, which takes HTTP from 2.7x httpx.ASGITransport to 2.2x, under the 2.5x floor",
        _check_httpx_content,
    ),
    Reliance(
        "uvicorn", "uvicorn.protocols.http.*_impl:{H11,HttpTools,Zttp}Protocol", "per connection .config "
        "(whose .app is the app given to Config), .transport, .flow (.write_paused, .resume_writing()), "
        ".cycle (.scope, .disconnected, .message_event, .response_started, .response_complete) and "
        "shutdown(); the cycle's scope reaches the app as the same object through uvicorn's middlewares",
        "_live.uvicorn_shim.EndsResponsesOnShutdown, mixed into the protocol class (it tells "
        "_live.served_app.ServedApp.cut_short, which finds the request by its scope)",
        "uvicorn lets a response in progress run to its end on shutdown (an endless stream never ends) "
        "and has no hook to end it as a client's disconnect does",
        _check_uvicorn_protocols,
    ),
    Reliance(
        "uvicorn", "uvicorn:Server", ".capture_signals() (overridden: the kernel keeps its signal handlers), "
        ".startup(sockets), .started, .should_exit, .force_exit, .server_state.connections; "
        "Config.load() setting .http_protocol_class",
        "_live.uvicorn_shim (UvicornServer and load)",
        "Server.serve() is the documented way to run on a running loop; taking over SIGINT, and aborting "
        "connections left by a forced stop, have no option",
        _check_uvicorn_server,
    ),
    Reliance(
        "ipython", "IPython.core.magic:MagicsManager.magics", "a dict {'line': {...}, 'cell': {...}} of names",
        "magics.unload_ipython_extension (through magics_table)",
        "IPython can register a magic but has no call to unregister one",
        _check_ipython_magics,
    ),
    Reliance(
        "cpython", "asyncio.events:Handle._run; sys:_current_frames; C API PyThreadState_SetAsyncExc, "
        "Py_AddPendingCall", "a loop step runs in Handle._run's frame; the main thread's current frame; "
        "raising an exception in a thread; running a function on the main thread at its next bytecode",
        "_inprocess.watchdog (noticing and stopping an app that blocks the event loop)",
        "a blocked loop runs no Python code of its own, so only another thread can see where it is and "
        "stop it; the language has no public way to do either",
        _check_cpython_interrupts,
    ),
)
