"""The ``.http`` language of VS Code REST Client and JetBrains HTTP Client: one parser for cells and files.

::

    @host = http://testserver
    ### get a user
    # @name tom
    GET {{host}}/users/tom
        ?verbose=1
        &lang=en
    Accept: application/json

    ?? status == 200
    ?? body $.name == tom

    ###
    POST /users HTTP/1.1
    Authorization: Bearer {{login.response.body.$.token}}
    Content-Type: application/json

    {"name": "tom"}

    ###
    WEBSOCKET /ws
    Sec-WebSocket-Protocol: chat

    hello
    === wait-for-server
    bye

Reading happens in two steps. ``parse_file`` turns the text into request templates: the structure is
checked at once (with the line of every mistake), but ``{{...}}`` stays unresolved, because a value may
come from a response that does not exist yet. ``resolve`` makes one concrete request from a template
just before it is sent, with a ``substitute`` function (``_httpfile.variables.Variables``) that knows the
variables, the environment and the exchanges so far. ``parse`` does both at once for a text that
refers to no response. The syntax table is in ``docs/httpfiles.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Assertion",
    "HTTPFile",
    "HTTPFileError",
    "HTTPRequestSpec",
    "MessageTemplate",
    "Piece",
    "RequestTemplate",
    "Send",
    "WaitForServer",
    "WebSocketSpec",
    "parse",
    "parse_file",
    "render",
    "resolve",
]

VARIABLE_DEFINITION = re.compile(r"^@([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$")
VARIABLE_USE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
METHOD = re.compile(r"^[A-Z][A-Z0-9_-]*$")
HTTP_VERSION = re.compile(r"^HTTP/\d(\.\d)?$")
HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s?(.*)$")
DIRECTIVE = re.compile(r"^(?:#|//)\s*@([\w-]+)(?:\s+(.*?))?\s*$")
SEPARATOR = re.compile(r"^===(?:\s+(\S.*?))?\s*$")
ASSERTION = re.compile(r"^\?\?(?:\s+(.*?))?\s*$")
#: JetBrains' JavaScript: a response handler ``> {% ... %}`` / ``> ./check.js``, a pre-request script
#: ``< {% ... %}`` / ``< ./setup.js``, and the response redirect ``>> ./out.json``.
RESPONSE_HANDLER = re.compile(r"^>\s*(\{%|\S+\.js\s*$)")
PRE_REQUEST_SCRIPT = re.compile(r"^<\s*(\{%|\S+\.js\s*$)")
RESPONSE_REDIRECT = re.compile(r"^>>!?\s")
#: ``< ./file`` (a body sent as it is) or ``<@ ./file`` (with ``{{...}}`` resolved).
BODY_FILE = re.compile(r"^<(@)?\s+(\S.*?)\s*$")
#: A request line's words; a ``{{$randomInt 1 9}}`` inside one is a single word.
WORDS = re.compile(r"(?:\{\{.*?\}\}|\S)+")

#: Where str.splitlines() breaks a line (the parser reads lines that way).
LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
SUBJECTS = ("status", "header", "body", "message", "close")
#: The subjects compared with a code (a number), and those only a WEBSOCKET request has.
CODE_SUBJECTS = ("status", "close")
WEBSOCKET_SUBJECTS = ("message", "close")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
PREDICATES = (*COMPARISONS, "includes", "contains", "startsWith", "endsWith", "matches", "exists")
UNARY = ("exists",)


class HTTPFileError(ValueError):
    """A line of a ``.http`` text that cannot be read or resolved; says which file, which line and why."""

    def __init__(
        self, message: str, line_number: int | None = None, line: str | None = None, path: str | None = None
    ) -> None:
        self.message = message
        self.line_number = line_number
        self.line = line
        self.path = path
        where = ""
        if line_number is not None and line is not None:
            where = f"line {line_number}: {line.strip()!r}: "
        if path is not None:
            where = f"{path}, {where or ''}"
        super().__init__(where + message)


# -- what a request is, once resolved -------------------------------------------------------------


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
        from ._inprocess.scope import parse_subprotocols  # the scope's split; imported when asked

        return parse_subprotocols(values)


Spec = HTTPRequestSpec | WebSocketSpec


# -- what the file says, before {{...}} is resolved -----------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Text from the file that may hold ``{{...}}``, and the line it came from."""

    text: str
    line_number: int


@dataclass(frozen=True)
class Assertion:
    """``?? SUBJECT [ARGUMENT] PREDICATE [EXPECTED]``: checked against the exchange once it is done."""

    subject: str  # status, header, body, message, close
    argument: str | None  # a header name, a JSONPath, a message number
    predicate: str
    expected: Piece | None
    line_number: int
    source: str  # as written, after '??'


@dataclass
class MessageTemplate:
    lines: list[Piece]
    line_number: int


@dataclass
class RequestTemplate:
    method: str
    url: list[Piece]  # the request line's URL, then its query continuation lines
    http_version: str | None
    headers: list[tuple[str, Piece]]
    body: list[Piece] | None
    body_file: Piece | None  # '< ./file' (sent as it is) or '<@ ./file' (with {{...}} resolved)
    body_file_variables: bool
    steps: list[MessageTemplate | WaitForServer]  # a WEBSOCKET request's messages
    assertions: list[Assertion]
    name: str | None
    line_number: int
    follow_redirects: bool | None = None  # '# @no-redirect'
    timeout: float | None = None  # '# @timeout 3'

    @property
    def is_websocket(self) -> bool:
        return self.method == "WEBSOCKET"

    @property
    def title(self) -> str:
        """How the request is called in a report: its name, else its line."""
        return self.name or f"line {self.line_number}"


@dataclass
class HTTPFile:
    requests: list[RequestTemplate]
    variables: dict[str, Piece]  # '@name = value', file-wide
    lines: list[str]
    path: str | None = None  # shown in errors
    base_dir: Path = field(default_factory=Path.cwd)  # where '< ./file' bodies and .env files are read

    def error(self, message: str, line_number: int | None) -> HTTPFileError:
        if line_number is None or not 0 < line_number <= len(self.lines):
            return HTTPFileError(message, path=self.path)
        return HTTPFileError(message, line_number, self.lines[line_number - 1], self.path)


def _is_comment(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("#") or stripped.startswith("//")


def _is_assertion(line: str) -> bool:
    return line.lstrip().startswith("??")


#: The editors' lines that need their JavaScript engine or write files, and what to do instead.
_UNSUPPORTED = (
    (RESPONSE_HANDLER, "JavaScript response handlers ('> {% ... %}') cannot run here; check the response with "
                       "assertions such as '?? status == 200' or '?? body $.id == 3', and refer to it with "
                       "{{name.response.body.$.field}}"),
    (PRE_REQUEST_SCRIPT, "JavaScript pre-request scripts ('< {% ... %}') cannot run here; compute the value in "
                         "Python and pass it as a variable (run_http(..., name=value), or a notebook variable)"),
    (RESPONSE_REDIRECT, "'>>' (save the response to a file) is not supported; the exchange is returned instead: "
                        "write it out from Python"),
)


def _unsupported(line: str) -> str | None:
    """Why the parser refuses ``line`` (a JavaScript handler, a script, a redirect to a file), or None."""
    stripped = line.strip()
    return next((why for pattern, why in _UNSUPPORTED if pattern.match(stripped)), None)


class _Parser:
    def __init__(self, text: str, path: str | None, base_dir: Path | None) -> None:
        # A byte order mark (Windows editors save one) would stick to the first method or variable name.
        self.lines = text.removeprefix("\ufeff").splitlines()
        self.file = HTTPFile([], {}, self.lines, path, base_dir or Path.cwd())
        self.names: dict[str, int] = {}

    def error(self, message: str, index: int) -> HTTPFileError:
        return self.file.error(message, index + 1)

    def parse(self) -> HTTPFile:
        blocks: list[tuple[int, int, str | None]] = []  # (first line, end, name from ###)
        start, name = 0, None
        for index, line in enumerate(self.lines):
            if line.startswith("###"):
                blocks.append((start, index, name))
                start, name = index + 1, line[3:].strip() or None
        blocks.append((start, len(self.lines), name))
        for first, end, block_name in blocks:
            template = self.parse_block(first, end, block_name)
            if template is not None:
                self.file.requests.append(template)
        if not self.file.requests:
            raise HTTPFileError("no request found: write a request line such as 'GET /path'", path=self.file.path)
        return self.file

    def refuse_javascript(self, line: str, index: int) -> None:
        why = _unsupported(line)
        if why is not None:
            raise self.error(why, index)

    def directive(self, line: str, index: int, settings: dict[str, Any]) -> bool:
        """``# @name``, ``# @no-redirect``, ``# @timeout``, ``# @prompt``; True if the line was one."""
        match = DIRECTIVE.match(line.strip())
        if match is None:
            return False
        word, value = match.group(1), match.group(2)
        if word == "name":
            if not value or len(value.split()) != 1:
                raise self.error("a request is named as '# @name login' (one word)", index)
            settings["name"] = value
        elif word == "prompt":
            name = (value or "NAME").split()[0]
            raise self.error(
                f"'# @prompt' cannot ask for input here; give {{{{{name}}}}} a value instead: "
                f"run_http(..., {name}=...), a notebook variable, or an environment file", index
            )
        elif word == "no-redirect":
            settings["follow_redirects"] = False
        elif word == "no-cookie-jar":
            raise self.error(
                "'# @no-cookie-jar' is not supported: the client keeps its cookies; use a new Client", index
            )
        elif word == "timeout":
            settings["timeout"] = self.timeout(value, index)
        return True  # other '# @...' lines are comments, as in the editors

    def timeout(self, value: str | None, index: int) -> float:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?", value or "")
        if match is None:
            raise self.error("a timeout is '# @timeout 3' (seconds), or with a unit: 500 ms, 3 s, 1 m", index)
        return float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]

    def assertion(self, line: str, index: int) -> Assertion:
        source = (ASSERTION.match(line.strip()) or [None, None])[1] or ""
        number = index + 1
        words = list(re.finditer(r"\S+", source))
        if not words:
            raise self.error("an assertion is '?? status == 200' (see the syntax table)", index)
        subject = words[0].group()
        if subject not in SUBJECTS:
            raise self.error(
                f"unknown assertion subject {subject!r}; one of: {', '.join(SUBJECTS)} "
                "(JavaScript assertions, '?? js ...', cannot run here)", index
            )
        predicate = next((w for w in words[1:] if w.group() in PREDICATES), None)
        if predicate is None:
            raise self.error(f"no predicate in the assertion; use one of: {' '.join(PREDICATES)}", index)
        argument = source[words[0].end():predicate.start()].strip() or None
        expected_text = source[predicate.end():].strip()
        name = predicate.group()
        if name in UNARY and expected_text:
            raise self.error(f"'{name}' takes no value: write '?? {subject} {argument or ''} {name}'", index)
        if name not in UNARY and not expected_text:
            raise self.error(f"'{name}' needs a value to compare with", index)
        self.check_argument(subject, argument, index)
        if subject in CODE_SUBJECTS and "{{" not in expected_text and name in COMPARISONS:
            if not re.fullmatch(r"\d+", expected_text):
                raise self.error(f"a {subject} code is compared with a number, got {expected_text!r}", index)
        expected = Piece(expected_text, number) if name not in UNARY else None
        return Assertion(subject, argument, name, expected, number, source)

    def check_argument(self, subject: str, argument: str | None, index: int) -> None:
        from ._httpfile.jsonpath import JSONPathError, steps

        if subject in CODE_SUBJECTS and argument:
            raise self.error(f"'{subject}' takes no argument, got {argument!r}", index)
        if subject == "header" and (not argument or not HEADER.match(argument + ":")):
            raise self.error("name the header: '?? header content-type includes json'", index)
        path = argument
        if subject == "message":
            number, _, path = (argument or "").partition(" ")
            if not number.isdigit() or int(number) < 1:
                raise self.error("name the message by its number, from 1: '?? message 1 == hello'", index)
            path = path.strip() or None
        if subject in ("body", "message") and path is not None:
            try:
                steps(path)
            except JSONPathError as exc:
                raise self.error(str(exc), index) from None

    def parse_block(self, index: int, end: int, name: str | None) -> RequestTemplate | None:
        # Before the request line: blank lines, comments and directives, variables, assertions.
        settings: dict[str, Any] = {"name": name}
        assertions: list[Assertion] = []
        while index < end:
            line = self.lines[index]
            self.refuse_javascript(line, index)
            if self.directive(line, index, settings) or not line.strip() or _is_comment(line):
                pass
            elif line.startswith("@"):
                self.variable(line, index)
            elif _is_assertion(line):
                assertions.append(self.assertion(line, index))
            else:
                break
            index += 1
        if index >= end:
            if assertions:
                raise self.error("an assertion needs a request below it", assertions[-1].line_number - 1)
            return None
        request_index = index
        method, url, version = self.request_line(index)
        index += 1
        # A query may continue on the following lines, which start with ? or & (usually indented).
        while index < end and self.lines[index].strip()[:1] in ("?", "&") and not _is_assertion(self.lines[index]):
            url.append(Piece(self.lines[index].strip(), index + 1))
            index += 1
        headers: list[tuple[str, Piece]] = []
        while index < end and self.lines[index].strip():
            line = self.lines[index]
            self.refuse_javascript(line, index)
            if _is_assertion(line):
                assertions.append(self.assertion(line, index))
            elif not _is_comment(line):
                match = HEADER.match(line.strip())
                if match is None:
                    raise self.error(
                        "expected a header 'Name: value' (or a blank line before the body)", index
                    )
                headers.append((match.group(1), Piece(match.group(2).strip(), index + 1)))
            index += 1
        body: list[Piece] = []
        for at in range(index + 1, end):
            line = self.lines[at]
            self.refuse_javascript(line, at)
            if _is_assertion(line):
                assertions.append(self.assertion(line, at))
            else:
                body.append(Piece(line, at + 1))
        while body and not body[-1].text.strip():
            body.pop()
        name = settings["name"]
        if name is not None:
            if name in self.names:
                raise self.error(f"a request is already named {name!r} (line {self.names[name]})", request_index)
            self.names[name] = request_index + 1
        template = RequestTemplate(
            method, url, version, headers, None, None, False, [], assertions, name, request_index + 1,
            settings.get("follow_redirects"), settings.get("timeout"),
        )
        if method == "WEBSOCKET":
            template.steps = self.websocket_steps(body)
            for assertion in assertions:
                if assertion.subject not in WEBSOCKET_SUBJECTS:
                    raise self.error("a WEBSOCKET request's assertions are about a 'message N' or the "
                                     "'close' code", assertion.line_number - 1)
        else:
            for assertion in assertions:
                if assertion.subject in WEBSOCKET_SUBJECTS:
                    raise self.error(f"'{assertion.subject}' is for WEBSOCKET requests; an HTTP response has "
                                     "a status, headers and a body", assertion.line_number - 1)
            self.body(template, body)
        return template

    def variable(self, line: str, index: int) -> None:
        match = VARIABLE_DEFINITION.match(line)
        if match is None:
            raise self.error("a variable is defined as '@name = value'", index)
        name = match.group(1)
        if name in self.file.variables:
            first = self.file.variables[name].line_number
            raise self.error(f"@{name} is defined twice (first on line {first}); a file variable has one value",
                             index)
        self.file.variables[name] = Piece(match.group(2), index + 1)

    def request_line(self, index: int) -> tuple[str, list[Piece], str | None]:
        parts = WORDS.findall(self.lines[index])
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
        return method, [Piece(url, index + 1)], version

    def body(self, template: RequestTemplate, body: list[Piece]) -> None:
        if not body:
            return
        first = body[0]
        file_match = BODY_FILE.match(first.text)
        if file_match:
            rest = [piece for piece in body[1:] if piece.text.strip()]
            if rest:
                raise self.error("a '< file' body is the whole body; nothing may follow it", rest[0].line_number - 1)
            template.body_file = Piece(file_match.group(2), first.line_number)
            template.body_file_variables = file_match.group(1) is not None
        else:
            for piece in body[1:]:
                if BODY_FILE.match(piece.text):
                    raise self.error("a '< file' line inside a body (a multipart part) is not supported; only a "
                                     "whole body can come from a file", piece.line_number - 1)
            template.body = body

    def websocket_steps(self, body: list[Piece]) -> list[MessageTemplate | WaitForServer]:
        steps: list[MessageTemplate | WaitForServer] = []
        message: list[Piece] = []

        def flush() -> None:
            while message and not message[0].text.strip():
                message.pop(0)
            while message and not message[-1].text.strip():
                message.pop()
            if message:
                steps.append(MessageTemplate(list(message), message[0].line_number))
            message.clear()

        for piece in body:
            separator = SEPARATOR.match(piece.text)
            if separator:
                flush()
                option = separator.group(1)
                if option == "wait-for-server":
                    steps.append(WaitForServer(piece.line_number))
                elif option is not None:
                    raise self.error(
                        f"unknown separator option {option!r}; the one known is 'wait-for-server'",
                        piece.line_number - 1,
                    )
            else:
                message.append(piece)
        flush()
        return steps


def parse_file(text: str, *, path: str | None = None, base_dir: str | Path | None = None) -> HTTPFile:
    """The requests of a ``.http`` text as templates, in order; ``HTTPFileError`` names a bad line.

    ``path`` is how errors name the file; ``base_dir`` is where ``< ./file`` bodies are read from
    (default: the current directory).
    """
    __tracebackhide__ = True
    try:
        return _Parser(text, path, Path(base_dir) if base_dir is not None else None).parse()
    except HTTPFileError as exc:
        raise exc.with_traceback(None) from None  # the mistake is in the text, not in the parser


# -- from a template to a request -----------------------------------------------------------------


Substitute = Callable[[Piece], str]


def _body_file(file: HTTPFile, template: RequestTemplate, substitute: Substitute) -> str:
    assert template.body_file is not None
    path = file.base_dir / substitute(template.body_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise file.error(f"cannot read the body file {str(path)!r}: {exc.strerror}",
                         template.body_file.line_number) from None
    if not template.body_file_variables:
        return text
    start = template.body_file.line_number
    return substitute(Piece(text, start))


def resolve(file: HTTPFile, template: RequestTemplate, substitute: Substitute) -> Spec:
    """The concrete request of ``template``, every ``{{...}}`` replaced by ``substitute``."""
    __tracebackhide__ = True
    try:
        return _resolve(file, template, substitute)
    except HTTPFileError as exc:
        raise exc.with_traceback(None) from None  # the mistake is in the text, not in the resolver


def _resolve_steps(steps: list[MessageTemplate | WaitForServer], substitute: Substitute) -> list[Send | WaitForServer]:
    """A WebSocket conversation's messages, each with its ``{{...}}`` resolved."""
    return [step if isinstance(step, WaitForServer)
            else Send("\n".join(substitute(piece) for piece in step.lines), step.line_number)
            for step in steps]


def _resolve(file: HTTPFile, template: RequestTemplate, substitute: Substitute) -> Spec:
    url = "".join(substitute(piece) for piece in template.url)
    headers = [(name, substitute(value)) for name, value in template.headers]
    if template.is_websocket:
        return WebSocketSpec(url, headers, _resolve_steps(template.steps, substitute), template.name,
                             template.line_number)
    body = None
    if template.body_file is not None:
        body = _body_file(file, template, substitute)
    elif template.body is not None:
        body = "\n".join(substitute(piece) for piece in template.body)
    return HTTPRequestSpec(template.method, url, headers, body, template.http_version, template.name,
                           template.line_number)


def parse(
    text: str, *, variables: Mapping[str, Any] | None = None, base_dir: str | Path | None = None
) -> list[Spec]:
    """Read the requests of a ``.http`` text, in order, every ``{{...}}`` resolved now.

    ``variables``: values for ``{{name}}`` that the text does not define itself (a notebook's
    namespace, say). ``base_dir``: where ``< ./file`` bodies are read from (default: the current
    directory). A reference to a response (``{{login.response...}}``) needs the request to have run:
    use ``run_http`` for those. Raises ``HTTPFileError`` naming the line.
    """
    from ._httpfile.variables import Variables

    file = parse_file(text, base_dir=base_dir)
    substitute = Variables(file, given=variables).substitute
    return [resolve(file, template, substitute) for template in file.requests]


def parse_websocket_messages(
    text: str, *, variables: Mapping[str, Any] | None = None
) -> list[Send | WaitForServer]:
    """A ``%%ws`` cell: each line is a message; with ``===`` separators, each block is one."""
    from ._httpfile.variables import Variables

    parser = _Parser(text, None, None)
    substitute = Variables(parser.file, given=variables).substitute
    if any(SEPARATOR.match(line) for line in parser.lines):
        return _resolve_steps(parser.websocket_steps([Piece(line, n) for n, line in enumerate(parser.lines, 1)]),
                              substitute)
    return [Send(substitute(Piece(line, number)), number)
            for number, line in enumerate(parser.lines, 1) if line.strip()]


# -- from a request back to text ------------------------------------------------------------------


def render(spec: HTTPRequestSpec) -> str:
    """The ``.http`` text of one request, which ``parse`` reads back as the same request.

    Raises ``ValueError`` for a request that the format cannot write exactly (it has no escapes): a
    ``{{`` anywhere, a space in the URL, a header value with outer spaces, or a body with a line that
    the parser would read as a separator, an assertion or a file, or with trailing blank lines.
    """
    def refuse(why: str) -> ValueError:
        return ValueError(f"this request cannot be written as .http text: {why}")

    texts = [spec.url, spec.body or "", *(v for _, v in spec.headers), spec.name or ""]
    if any("{{" in text for text in texts):
        raise refuse("'{{' would be read as a variable")
    one_line = (spec.url, spec.name or "", *(v for _, v in spec.headers))
    if any(c in text for text in one_line for c in LINE_BREAKS):
        raise refuse("a line break in the URL, a header or the name")
    if spec.body is not None and any(c in spec.body for c in LINE_BREAKS[1:]):
        raise refuse("a body line break other than \\n (a carriage return, a form feed...)")
    if not METHOD.match(spec.method) or spec.method == "WEBSOCKET":
        raise refuse(f"the method {spec.method!r}")
    url_words = WORDS.findall(spec.url)
    if url_words != [spec.url] or spec.url.upper().startswith("HTTP/") or spec.url.startswith(("ws:", "wss:")):
        raise refuse(f"the URL {spec.url!r}")
    if spec.url.startswith(("#", "//", "@", "??", "<", ">")) or spec.url.lstrip("?&") != spec.url:
        raise refuse(f"the URL {spec.url!r} would be read as something else")
    if spec.http_version is not None and not HTTP_VERSION.match(spec.http_version):
        raise refuse(f"the HTTP version {spec.http_version!r}")
    lines = []
    if spec.name is not None:
        if len(spec.name.split()) != 1 or spec.name != spec.name.strip():
            raise refuse(f"the name {spec.name!r} is not one word")
        lines.append(f"# @name {spec.name}")
    lines.append(" ".join(part for part in (spec.method, spec.url, spec.http_version) if part))
    for name, value in spec.headers:
        if not HEADER.match(f"{name}:") or value != value.strip() or name.startswith(("#", "//", "??")):
            raise refuse(f"the header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    if spec.body is not None:
        body_lines = spec.body.split("\n")
        if not body_lines[-1].strip() or (not body_lines[0].strip() and len(body_lines) > 1):
            raise refuse("a body that starts or ends with a blank line, or is empty")
        for line in body_lines:
            if line.startswith("###") or _is_assertion(line) or _unsupported(line) is not None:
                raise refuse(f"the body line {line!r}")
            if BODY_FILE.match(line):  # the whole body from a file, or (further down) a multipart part
                raise refuse(f"the body line {line!r} would be read as a file")
        lines.append("")
        lines.extend(body_lines)
    return "\n".join(lines) + "\n"

