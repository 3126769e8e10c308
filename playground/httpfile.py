"""The ``.http`` request format that VS Code REST Client and JetBrains HTTP Client share (a subset).

::

    @host = http://testserver
    ### get a user
    # @name tom
    GET {{host}}/users/tom
        ?verbose=1
        &lang=en
    Accept: application/json

    ###
    POST /users HTTP/1.1
    Content-Type: application/json

    {"name": "tom"}

    ###
    WEBSOCKET /ws
    Sec-WebSocket-Protocol: chat

    hello
    === wait-for-server
    bye

``###`` starts a request (text after it names it); ``#`` and ``//`` lines outside a body are comments;
the request line is ``[METHOD ]URL[ HTTP/x.y]`` (GET when there is no method); headers follow until a
blank line, then the body until the next ``###``. A query may go on over indented lines starting with
``?`` or ``&``. ``< ./file`` takes the body from a file. ``@name = value`` defines a variable and
``{{name}}`` uses it. A ``WEBSOCKET`` request's body is its messages: ``===`` separates them, and
``=== wait-for-server`` waits for a message from the server before going on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["HTTPFileError", "HTTPRequestSpec", "Send", "WaitForServer", "WebSocketSpec", "parse"]

VARIABLE_DEFINITION = re.compile(r"^@([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")
VARIABLE_USE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
METHOD = re.compile(r"^[A-Z][A-Z0-9_-]*$")
HTTP_VERSION = re.compile(r"^HTTP/\d(\.\d)?$")
HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s?(.*)$")
NAME_COMMENT = re.compile(r"^(?:#|//)\s*@name\s+(\S+)\s*$")
SEPARATOR = re.compile(r"^===(?:\s+(\S.*?))?\s*$")


class HTTPFileError(ValueError):
    """A line of a ``.http`` text that cannot be read; says which line and why."""

    def __init__(self, message: str, line_number: int | None = None, line: str | None = None) -> None:
        self.message = message
        self.line_number = line_number
        self.line = line
        where = ""
        if line_number is not None and line is not None:
            where = f"line {line_number}: {line.strip()!r}: "
        super().__init__(where + message)


@dataclass
class HTTPRequestSpec:
    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    http_version: str | None = None
    name: str | None = None
    line_number: int = 1


@dataclass
class Send:
    """A WebSocket message to send (text)."""

    text: str
    line_number: int


@dataclass
class WaitForServer:
    """Wait for one message from the server before going on."""

    line_number: int


@dataclass
class WebSocketSpec:
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    steps: list[Send | WaitForServer] = field(default_factory=list)
    name: str | None = None
    line_number: int = 1

    @property
    def subprotocols(self) -> list[str]:
        values = [v for n, v in self.headers if n.lower() == "sec-websocket-protocol"]
        return [p.strip() for value in values for p in value.split(",") if p.strip()]


Spec = HTTPRequestSpec | WebSocketSpec


def _is_comment(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("#") or stripped.startswith("//")


class _Parser:
    def __init__(self, text: str, variables: Mapping[str, Any] | None, base_dir: Path | None) -> None:
        # A byte order mark (Windows editors save one) would stick to the first method or variable name.
        self.lines = text.removeprefix("\ufeff").splitlines()
        self.outer = variables or {}
        self.file_variables: dict[str, str] = {}
        self.base_dir = base_dir or Path.cwd()

    def error(self, message: str, index: int) -> HTTPFileError:
        return HTTPFileError(message, index + 1, self.lines[index])

    def substitute(self, text: str, index: int) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("$"):
                raise self.error(
                    f"dynamic variable {{{{{name}}}}} is not supported; define it with @name = value", index
                )
            if name in self.file_variables:
                return self.file_variables[name]
            if name in self.outer:
                return str(self.outer[name])
            raise self.error(
                f"variable {{{{{name}}}}} is not defined; define it above with '@{name} = value' "
                "or as a notebook variable", index
            )

        return VARIABLE_USE.sub(replace, text)

    def parse(self) -> list[Spec]:
        specs: list[Spec] = []
        blocks: list[tuple[int, int, str | None]] = []  # (first line, end, name from ###)
        start, name = 0, None
        for index, line in enumerate(self.lines):
            if line.startswith("###"):
                blocks.append((start, index, name))
                start, name = index + 1, line[3:].strip() or None
        blocks.append((start, len(self.lines), name))
        for first, end, block_name in blocks:
            spec = self.parse_block(first, end, block_name)
            if spec is not None:
                specs.append(spec)
        if not specs:
            raise HTTPFileError("no request found: write a request line such as 'GET /path'")
        return specs

    def parse_block(self, index: int, end: int, name: str | None) -> Spec | None:
        # Before the request line: blank lines, comments (one may name the request), variables.
        while index < end:
            line = self.lines[index]
            named = NAME_COMMENT.match(line.strip())
            if named:
                name = named.group(1)
            elif not line.strip() or _is_comment(line):
                pass
            elif line.startswith("@"):
                match = VARIABLE_DEFINITION.match(line)
                if match is None:
                    raise self.error("a variable is defined as '@name = value'", index)
                self.file_variables[match.group(1)] = self.substitute(match.group(2), index)
            else:
                break
            index += 1
        if index >= end:
            return None
        request_index = index
        method, url, version = self.request_line(index)
        index += 1
        # A query may continue on indented lines that start with ? or &.
        while index < end and self.lines[index][:1].isspace() and self.lines[index].strip()[:1] in ("?", "&"):
            url += self.substitute(self.lines[index].strip(), index)
            index += 1
        headers: list[tuple[str, str]] = []
        while index < end and self.lines[index].strip():
            line = self.lines[index]
            if not _is_comment(line):
                match = HEADER.match(line.strip())
                if match is None:
                    raise self.error(
                        "expected a header 'Name: value' (or a blank line before the body)", index
                    )
                headers.append((match.group(1), self.substitute(match.group(2).strip(), index)))
            index += 1
        body_lines = self.lines[index + 1 : end] if index < end else []
        body_start = index + 1
        if method == "WEBSOCKET":
            steps = self.websocket_steps(body_lines, body_start)
            return WebSocketSpec(url, headers, steps, name, request_index + 1)
        body = self.body(body_lines, body_start)
        return HTTPRequestSpec(method, url, headers, body, version, name, request_index + 1)

    def request_line(self, index: int) -> tuple[str, str, str | None]:
        parts = self.substitute(self.lines[index], index).split()
        version = None
        if len(parts) > 1 and parts[-1].upper().startswith("HTTP/"):
            version = parts.pop()
            if not HTTP_VERSION.match(version):
                raise self.error(f"{version!r} is not an HTTP version such as HTTP/1.1", index)
        if len(parts) == 1:
            method, url = "GET", parts[0]
        elif len(parts) == 2:
            method, url = parts
            if not METHOD.match(method):
                raise self.error(
                    f"{method!r} is not a method; methods are upper-case, such as GET or POST", index
                )
        else:
            raise self.error("a request line is '[METHOD ]URL[ HTTP/x.y]' (spaces in a URL are written %20)",
                             index)
        if url.startswith(("ws://", "wss://")) and method != "WEBSOCKET":
            raise self.error(f"a {url.split(':')[0]}:// URL needs the WEBSOCKET method", index)
        return method, url, version

    def body(self, lines: list[str], first: int) -> str | None:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        if not lines:
            return None
        if lines[0].startswith("<") and lines[0][1:2].isspace():
            if len(lines) > 1:
                raise self.error("a '< file' body is the whole body; nothing may follow it", first + 1)
            path = self.base_dir / self.substitute(lines[0][1:].strip(), first)
            try:
                return path.read_text(encoding="utf-8")
            except OSError as exc:
                raise self.error(f"cannot read the body file {str(path)!r}: {exc.strerror}", first) from None
        return "\n".join(self.substitute(line, first + offset) for offset, line in enumerate(lines))

    def websocket_steps(self, lines: list[str], first: int) -> list[Send | WaitForServer]:
        steps: list[Send | WaitForServer] = []
        message: list[str] = []
        message_start = first

        def flush() -> None:
            text = "\n".join(message).strip("\n")
            if text.strip():
                steps.append(Send(text, message_start + 1))
            message.clear()

        for offset, line in enumerate(lines):
            index = first + offset
            separator = SEPARATOR.match(line)
            if separator:
                flush()
                message_start = index + 1
                option = separator.group(1)
                if option == "wait-for-server":
                    steps.append(WaitForServer(index + 1))
                elif option is not None:
                    raise self.error(
                        f"unknown separator option {option!r}; the one known is 'wait-for-server'", index
                    )
            else:
                message.append(self.substitute(line, index))
        flush()
        return steps


def parse(
    text: str, *, variables: Mapping[str, Any] | None = None, base_dir: str | Path | None = None
) -> list[Spec]:
    """Read the requests of a ``.http`` text, in order.

    ``variables``: values for ``{{name}}`` that the text does not define itself (a notebook's
    namespace, say). ``base_dir``: where ``< ./file`` bodies are read from (default: the current
    directory). Raises ``HTTPFileError`` naming the line.
    """
    return _Parser(text, variables, Path(base_dir) if base_dir is not None else None).parse()


def parse_websocket_messages(
    text: str, *, variables: Mapping[str, Any] | None = None
) -> list[Send | WaitForServer]:
    """A ``%%ws`` cell: each line is a message; with ``===`` separators, each block is one."""
    parser = _Parser(text, variables, None)
    if any(SEPARATOR.match(line) for line in parser.lines):
        return parser.websocket_steps(parser.lines, 0)
    return [Send(parser.substitute(line, index), index + 1)
            for index, line in enumerate(parser.lines) if line.strip()]
