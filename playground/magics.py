"""``%load_ext playground``: quick traffic from a cell, written in the ``.http`` request format.

::

    %%http client                       %http client GET /users/tom
    POST /users
    Content-Type: application/json      %%ws client /ws
                                        hello
    {"name": "tom"}                     bye

A magic function cannot be async, and the app must run on the kernel's own loop. So the extension
registers an input transformer that rewrites such a cell into one line,
``await playground.magics.run_http(client, "<the cell>")``, and IPython's autoawait runs it on the
kernel's loop; its value is the cell's result. Real magics with the same names stay registered for
``%http?``, ``%lsmagic``, clear usage errors, and a terminal with no loop running (there they run
the request with ``asyncio.run``).

The target is a name in the notebook: a ``Client``, an ASGI app (wrapped in a new ``Client``), or a
server URL. The result is what the API returns: a ``Response``, a ``WebSocketSession`` after it
closed, or a list of them (``Exchanges``) for a cell with several requests.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Mapping
from typing import Any

import anyio
import httpx

from .client import Client
from .httpfile import HTTPRequestSpec, Send, WaitForServer, parse, parse_websocket_messages
from .response import Response
from .websocket import WebSocketSession

__all__ = ["Exchanges", "load_ipython_extension", "run_http", "run_ws", "unload_ipython_extension"]

#: How long a live (network) session waits for more replies before it sends the next message.
QUIET_PERIOD = 0.2
TARGET = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
CELL_MAGIC = re.compile(r"^%%(http|ws)(?:[ \t]+(.*?))?\s*$")
LINE_MAGIC = re.compile(r"^(?:(?P<assign>[A-Za-z_]\w*)\s*=\s*)?%http[ \t]+(?P<args>.*?)\s*$")
MODULE = "__import__('playground.magics', fromlist=['run_http'])"


class Exchanges(list[Response | WebSocketSession]):
    """The results of a cell with several requests, shown one after the other."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .display_text import response_text, session_text

        texts = [response_text(item) if isinstance(item, Response) else session_text(item) for item in self]
        printer.text("\n\n".join(texts))

    def _repr_html_(self) -> str:
        return "".join(item._repr_html_() for item in self)


# -- running requests (the async API the rewritten cells call) ------------------------------------


def as_client(target: Any) -> Client:
    if isinstance(target, Client):
        return target
    if isinstance(target, (str, httpx.URL)):
        return Client(str(target))
    if callable(target):
        return Client(target)
    raise TypeError(
        f"the magic's target must be a Client, an ASGI app or a server URL, got {type(target).__name__}"
    )


async def run_http(target: Any, text: str, *, variables: Mapping[str, Any] | None = None) -> Any:
    """Send every request of a ``.http`` text; the ``Response`` (or session), or ``Exchanges`` for several."""
    client = as_client(target)
    results: list[Response | WebSocketSession] = []
    for spec in parse(text, variables=variables):
        if isinstance(spec, HTTPRequestSpec):
            content = spec.body.encode("utf-8") if spec.body is not None else None
            results.append(await client.request(spec.method, spec.url, headers=spec.headers,
                                                content=content))
        else:
            headers = [(n, v) for n, v in spec.headers if n.lower() != "sec-websocket-protocol"]
            results.append(await _converse(client, spec.url, spec.steps, headers, spec.subprotocols))
    return results[0] if len(results) == 1 else Exchanges(results)


async def run_ws(
    target: Any, path: str, text: str, *, subprotocols: list[str] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> WebSocketSession:
    """Open a session, send each line (or each ``===`` block), take the replies, close; the session."""
    steps = parse_websocket_messages(text, variables=variables)
    return await _converse(as_client(target), path, steps, [], subprotocols or [])


async def _converse(
    client: Client, url: str, steps: list[Send | WaitForServer], headers: list[tuple[str, str]],
    subprotocols: list[str],
) -> WebSocketSession:
    session = client.websocket_connect(url, subprotocols=subprotocols or None, headers=headers or None)
    async with session:
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


# -- the input transformer ------------------------------------------------------------------------


def _ws_call(target: str, args: list[str], body: str) -> str | None:
    if len(args) < 2:
        return None
    path, protocols = args[1], args[2:]
    return (f"await {MODULE}.run_ws({target}, {path!r}, {body!r}, subprotocols={protocols!r}, "
            "variables=globals())")


def make_transformer(shell: Any) -> Any:
    def transform_playground_magics(lines: list[str]) -> list[str]:
        if not lines or not getattr(shell, "autoawait", False):
            return lines
        cell = CELL_MAGIC.match(lines[0].rstrip("\n"))
        if cell:
            args = (cell.group(2) or "").split()
            if not args or not TARGET.match(args[0]):
                return lines  # the real magic explains the mistake
            body = "".join(lines[1:])
            if cell.group(1) == "http":
                call: str | None = f"await {MODULE}.run_http({args[0]}, {body!r}, variables=globals())"
            else:
                call = _ws_call(args[0], args, body)
            return lines if call is None else [call + "\n"]
        out = []
        for line in lines:
            match = LINE_MAGIC.match(line.rstrip("\n"))
            args = match.group("args").split(None, 1) if match else []
            if match and len(args) == 2 and TARGET.match(args[0]):
                assign = f"{match.group('assign')} = " if match.group("assign") else ""
                line = f"{assign}await {MODULE}.run_http({args[0]}, {args[1]!r}, variables=globals())\n"
            out.append(line)
        return out

    transform_playground_magics.playground = True  # type: ignore[attr-defined]
    return transform_playground_magics


# -- the magics themselves ------------------------------------------------------------------------


def _run_here(coroutine: Coroutine[Any, Any, Any], magic: str) -> Any:
    """Without a running loop (a plain terminal), run it; inside one (a kernel), explain."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    from IPython.core.error import UsageError

    raise UsageError(
        f"{magic} runs through IPython's autoawait, which is off or was bypassed here: turn it on with "
        "'%autoawait on', write the magic at the start of a cell (or 'name = %http ...' on a line of its "
        f"own), or call 'await playground.magics.run_http(...)' yourself"
    )


def _magics_class() -> type:
    from IPython.core.error import UsageError
    from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class, no_var_expand

    @magics_class
    class PlaygroundMagics(Magics):
        def _target(self, magic: str, args: list[str]) -> Any:
            if not args:
                raise UsageError(f"{magic} needs a target: the name of a Client or an ASGI app")
            name = args[0]
            if not TARGET.match(name):
                raise UsageError(f"{magic}: {name!r} is not a name; name a Client or an ASGI app")
            try:
                return self.shell.ev(name)
            except NameError:
                raise UsageError(
                    f"{magic}: there is no {name!r} in the notebook; the target names a Client or an ASGI app"
                ) from None

        @no_var_expand
        @line_cell_magic
        def http(self, line: str, cell: str | None = None) -> Any:
            """Send HTTP requests written in the .http format to a Client or an ASGI app.

            %http TARGET [METHOD] URL [HTTP/1.1]     one request line

            %%http TARGET                            one or more requests: request line, headers,
            METHOD URL                               blank line, body; '###' between requests;
            Header: value                            '@name = value' and {{name}} variables (a
                                                     notebook variable works too); '< ./file' bodies;
            body                                     WEBSOCKET URL with '===' between messages.

            TARGET is a Client, an ASGI app (wrapped in a new Client) or a server URL. The result is
            the Response (or the WebSocketSession), or a list of them for several requests.
            """
            args = line.split(None, 1)
            magic = "%%http" if cell is not None else "%http"
            target = self._target(magic, args)
            text = cell if cell is not None else (args[1] if len(args) > 1 else "")
            if not text.strip():
                raise UsageError(f"{magic} {args[0]}: no request; write one such as 'GET /'")
            return _run_here(run_http(target, text, variables=self.shell.user_ns), magic)

        @no_var_expand
        @cell_magic
        def ws(self, line: str, cell: str) -> Any:
            """Talk to a WebSocket endpoint: each line of the cell is a message.

            %%ws TARGET PATH [SUBPROTOCOL ...]

            Each line is sent as a text message and the app's replies are taken before the next one.
            With '===' lines, each block between them is one message, and '=== wait-for-server'
            waits for a message from the app. The session closes at the end (code 1000); the result
            is the WebSocketSession, which shows the whole transcript and the close.
            """
            args = line.split()
            target = self._target("%%ws", args)
            if len(args) < 2:
                raise UsageError(f"%%ws {args[0]}: no path; write '%%ws {args[0]} /ws'")
            talk = run_ws(target, args[1], cell, subprotocols=args[2:], variables=self.shell.user_ns)
            return _run_here(talk, "%%ws")

    return PlaygroundMagics


def load_ipython_extension(ipython: Any) -> None:
    from .display_formatters import register

    ipython.register_magics(_magics_class())
    cleanup = ipython.input_transformers_cleanup
    if not any(getattr(t, "playground", False) for t in cleanup):
        cleanup.append(make_transformer(ipython))
    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .display_formatters import unregister

    cleanup = ipython.input_transformers_cleanup
    cleanup[:] = [t for t in cleanup if not getattr(t, "playground", False)]
    from ._private_api import magics_table

    magics = magics_table(ipython)
    magics["line"].pop("http", None)
    magics["cell"].pop("http", None)
    magics["cell"].pop("ws", None)
    unregister(ipython)
