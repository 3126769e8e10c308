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
closed, or a list of them (``Exchanges``) for a cell with several requests or with assertions.
``%http_file TARGET PATH`` runs a whole ``.http`` file the same way (``_httpfile/run.py``).
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

import httpx

from ._httpfile.conversation import converse
from ._httpfile.run import Exchanges, HTTPRun
from ._httpfile.run import run_http as run_source
from .client import Client
from .httpfile import parse_file, parse_websocket_messages
from .websocket import WebSocketSession

__all__ = ["Exchanges", "load_ipython_extension", "run_http", "run_http_file", "run_ws", "unload_ipython_extension"]

TARGET = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
CELL_MAGIC = re.compile(r"^%%(http|ws)(?:[ \t]+(.*?))?\s*$")
LINE_MAGIC = re.compile(r"^(?:(?P<assign>[A-Za-z_]\w*)\s*=\s*)?%http[ \t]+(?P<args>.*?)\s*$")
FILE_MAGIC = re.compile(r"^(?:(?P<assign>[A-Za-z_]\w*)\s*=\s*)?%http_file[ \t]+(?P<args>.*?)\s*$")
MODULE = "__import__('playground.magics', fromlist=['run_http'])"


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


async def run_http(
    target: Any, text: str, *, variables: Mapping[str, Any] | None = None, env: str | None = None
) -> Any:
    """Send every request of a ``.http`` text, in order; the ``Exchanges``, or for a single request
    without assertions its ``Response`` (or session) itself."""
    __tracebackhide__ = True
    exchanges = await HTTPRun(as_client(target), parse_file(text), variables=variables, env=env).run()
    return exchanges[0] if len(exchanges) == 1 and not exchanges.outcomes else exchanges


async def run_http_file(
    target: Any, path: str | Path, *, env: str | None = None, variables: Mapping[str, Any] | None = None
) -> Exchanges:
    """``%http_file``: every request of a ``.http`` file, in order; the ``Exchanges``."""
    __tracebackhide__ = True
    return await run_source(as_client(target), Path(path), env=env, variables=variables)


async def run_ws(
    target: Any, path: str, text: str, *, subprotocols: list[str] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> WebSocketSession:
    """Open a session, send each line (or each ``===`` block), take the replies, close; the session."""
    steps = parse_websocket_messages(text, variables=variables)
    return await converse(as_client(target), path, steps, [], subprotocols or [])


def split_env(words: list[str]) -> tuple[list[str], str | None]:
    """``[..., '--env', 'dev']`` -> the other words and ``'dev'``; ValueError for a dangling ``--env``."""
    for index, word in enumerate(words):
        if word == "--env" or word.startswith("--env="):
            name = word[len("--env="):] if "=" in word else (words[index + 1] if index + 1 < len(words) else "")
            if not name:
                raise ValueError("--env needs the name of an environment: --env dev")
            rest = words[:index] + words[index + (1 if "=" in word else 2):]
            return rest, name
    return words, None


# -- the input transformer ------------------------------------------------------------------------


def _ws_call(target: str, args: list[str], body: str) -> str | None:
    if len(args) < 2:
        return None
    path, protocols = args[1], args[2:]
    return (f"await {MODULE}.run_ws({target}, {path!r}, {body!r}, subprotocols={protocols!r}, "
            "variables=globals())")


def _assignment(match: re.Match[str]) -> str:
    """``name = `` of ``name = %http ...``, else nothing."""
    return f"{match.group('assign')} = " if match.group("assign") else ""


def _file_call(line: str) -> str:
    """``[name = ]%http_file TARGET PATH [--env NAME]`` as one awaited call; other lines as they are."""
    match = FILE_MAGIC.match(line.rstrip("\n"))
    if match is None:
        return line
    try:
        args, env = split_env(shlex.split(match.group("args")))
    except ValueError:
        return line  # the real magic explains the mistake
    if len(args) != 2 or not TARGET.match(args[0]):
        return line
    call = f"{MODULE}.run_http_file({args[0]}, {args[1]!r}, env={env!r}, variables=globals())"
    return f"{_assignment(match)}await {call}\n"


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
                try:
                    rest, env = split_env(args[1:])
                except ValueError:
                    return lines
                if rest:
                    return lines
                call: str | None = (f"await {MODULE}.run_http({args[0]}, {body!r}, variables=globals()"
                                    + (f", env={env!r})" if env else ")"))
            else:
                call = _ws_call(args[0], args, body)
            return lines if call is None else [call + "\n"]
        out = []
        for line in lines:
            line = _file_call(line)
            match = LINE_MAGIC.match(line.rstrip("\n"))
            args = match.group("args").split(None, 1) if match else []
            if match and len(args) == 2 and TARGET.match(args[0]):
                line = f"{_assignment(match)}await {MODULE}.run_http({args[0]}, {args[1]!r}, variables=globals())\n"
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
    from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class, no_var_expand

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

            %%http TARGET [--env NAME]               one or more requests: request line, headers,
            METHOD URL                               blank line, body; '###' between requests;
            Header: value                            '@name = value' and {{name}} variables (a
                                                     notebook variable works too); '< ./file' bodies;
            body                                     WEBSOCKET URL with '===' between messages;
                                                     '?? status == 200' assertions.

            TARGET is a Client, an ASGI app (wrapped in a new Client) or a server URL. The result is
            the Response (or the WebSocketSession) of a single request without assertions, else the
            Exchanges: every result in order, each with its assertions' outcomes. '--env NAME' picks
            an environment of http-client.env.json or .vscode/settings.json. The syntax table is in
            docs/httpfiles.md.
            """
            args = line.split(None, 1)
            magic = "%%http" if cell is not None else "%http"
            target = self._target(magic, args)
            env = None
            if cell is not None:
                try:
                    rest, env = split_env(line.split()[1:])
                except ValueError as exc:
                    raise UsageError(f"%%http: {exc}") from None
                if rest:
                    raise UsageError(f"%%http {args[0]}: unexpected {' '.join(rest)!r}; the requests go in "
                                     "the cell, options are '--env NAME'")
            text = cell if cell is not None else (args[1] if len(args) > 1 else "")
            if not text.strip():
                raise UsageError(f"{magic} {args[0]}: no request; write one such as 'GET /'")
            return _run_here(run_http(target, text, variables=self.shell.user_ns, env=env), magic)

        @no_var_expand
        @line_magic
        def http_file(self, line: str) -> Any:
            """Run every request of a .http file, in order, and check its assertions.

            %http_file TARGET PATH [--env NAME]

            TARGET is a Client, an ASGI app or a server URL; PATH a .http file ('< ./file' bodies and
            .env files are read beside it); '--env NAME' an environment of http-client.env.json (with
            http-client.private.env.json) or of .vscode/settings.json. Notebook variables fill
            {{name}}s the file does not define. The result is the Exchanges: every response or
            session in order, each with its assertions' outcomes; '.check()' raises if one failed.
            """
            try:
                args, env = split_env(shlex.split(line))
            except ValueError as exc:
                raise UsageError(f"%http_file: {exc}") from None
            target = self._target("%http_file", args)
            if len(args) != 2:
                raise UsageError("%http_file: write '%http_file TARGET PATH [--env NAME]'")
            talk = run_http_file(target, args[1], env=env, variables=self.shell.user_ns)
            return _run_here(talk, "%http_file")

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
    from .display.formatters import register

    ipython.register_magics(_magics_class())
    cleanup = ipython.input_transformers_cleanup
    if not any(getattr(t, "playground", False) for t in cleanup):
        cleanup.append(make_transformer(ipython))
    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .display.formatters import unregister

    cleanup = ipython.input_transformers_cleanup
    cleanup[:] = [t for t in cleanup if not getattr(t, "playground", False)]
    from ._private_api import magics_table

    magics = magics_table(ipython)
    magics["line"].pop("http", None)
    magics["line"].pop("http_file", None)
    magics["cell"].pop("http", None)
    magics["cell"].pop("ws", None)
    unregister(ipython)
