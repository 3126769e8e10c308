"""Running in the browser: JupyterLite's Pyodide kernel, where Python is WebAssembly (``sys.platform``
is ``"emscripten"``).

The in-process client needs no sockets, so it works there. Two things do not exist there:
- threads: a plain ``def`` handler cannot go to a worker thread, so it runs inline, on the loop;
- sockets: live mode (``serve()``, ``Client(url)``) needs a real kernel.
Nothing here changes anything on any other platform.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

IN_BROWSER = sys.platform == "emscripten"

#: How the endpoint display describes a plain ``def`` handler.
SYNC_HANDLER = "sync, runs inline (no threads in the browser)" if IN_BROWSER else "sync (runs in a worker thread)"


class LiveModeUnavailable(RuntimeError):
    """Live mode was asked for in a kernel that cannot open sockets."""


def live_mode_unavailable(what: str) -> LiveModeUnavailable:
    return LiveModeUnavailable(
        f"{what} is live mode, which needs a real kernel: this one runs in the browser (Pyodide), where "
        "Python cannot open sockets or start a server. Client(app) works here; for live mode run the "
        "notebook in JupyterLab with a local Python (make lab)."
    )


def unavailable_serve(*args: Any, **kwargs: Any) -> Any:
    """``serve`` in the browser: there is no server to start, and the error says what to do instead."""
    raise live_mode_unavailable("serve()")


async def run_sync_inline(func: Callable[..., T], *args: Any, abandon_on_cancel: bool = False,
                          cancellable: bool | None = None, limiter: Any = None) -> T:
    """``anyio.to_thread.run_sync`` without the thread: the call runs on the loop, blocking it meanwhile.

    As in a worker thread, the function sees a copy of the caller's context variables, and a call that
    is already cancelled does not start.
    """
    import anyio.lowlevel

    await anyio.lowlevel.checkpoint_if_cancelled()
    return contextvars.copy_context().run(func, *args)


def run_threads_inline() -> None:
    """Make every ``anyio.to_thread.run_sync`` call run inline.

    Starlette sends all its blocking work through that one function, looked up at each call (its
    ``run_in_threadpool`` for sync endpoints, routes and exception handlers, background tasks, upload
    files, ``FileResponse``): replacing it covers our endpoints and Starlette's alike. Done only where
    starting a thread raises ``RuntimeError: can't start new thread`` anyway.
    """
    import anyio.to_thread

    anyio.to_thread.run_sync = run_sync_inline  # type: ignore[assignment]
