"""What the displays say, said once: the text and HTML displays (and the pictures) word it from here.

A time, a message, a body, a close code, a trace's end, a session's close, a client's facts, an
endpoint class's handlers: each is worked out and worded here; ``text`` and ``html`` only lay it out.

Every duration is written one way, ``12.345 ms`` (an offset gets a ``+`` in front), so that
``notebooks/sanitize.cfg`` can replace them in stored notebook outputs; so can it the one other
kind, how long an app blocked the event loop (``2.1 s``). Nothing here writes ids,
addresses or wall-clock times.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from .._browser import SYNC_HANDLER
from ..errors import BLOCKING_ADVICE

#: Text bodies longer than this many lines (or characters) are folded.
FOLD_LINES = 20
FOLD_CHARS = 2000
HEX_PREVIEW_BYTES = 32
#: A trace longer than this is cut in the displays (the Trace object keeps everything).
MAX_EVENTS = 200
MAX_DIAGRAM_EVENTS = 40

CLOSE_CODES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status",
    1006: "abnormal closure",
    1007: "invalid payload",
    1008: "policy violation",
    1009: "message too big",
    1010: "extension missing",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
}

#: The two sides in every picture: client → app in blue, app → client in orange. One colour must serve both
#: themes, so these are mid-tones with about 4:1 contrast on white and 4.7:1 on JupyterLab's dark
#: background (a brighter orange was 2.9:1 on white).
CLIENT_RGB = "43,125,233"
APP_RGB = "200,101,27"
CLIENT_HEX = "#2b7de9"
APP_HEX = "#c8651b"


def milliseconds(seconds: float | None) -> str:
    """``12.345 ms``: the one format for a duration (sanitize.cfg knows it)."""
    if seconds is None:
        return "? ms"
    return f"{seconds * 1000:.3f} ms"


def offset(seconds: float | None) -> str:
    return "+" + milliseconds(seconds)


def elapsed_of(response: Any) -> float | None:
    """The response's elapsed time in seconds; None while a streamed body is still open."""
    try:
        return float(response.elapsed.total_seconds())
    except (RuntimeError, AttributeError):
        return None


def close_code_name(code: int | None) -> str:
    if code is None:
        return "no close code"
    name = CLOSE_CODES.get(code)
    return f"{code} ({name})" if name else str(code)


def messages(count: int, what: str = "messages") -> str:
    """``1 message``, ``3 ASGI messages``."""
    return f"{count:,} {what[:-1] if count == 1 else what}"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_pairs(headers: Iterable[Any]) -> list[tuple[str, str]]:
    """Header pairs as text, whether they come as bytes (ASGI) or str (httpx)."""
    pairs = []
    for name, value in headers:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        pairs.append((str(name), str(value)))
    return pairs


# -- bodies ------------------------------------------------------------------------------------------


class Body(NamedTuple):
    kind: str  # "empty", "json", "text", "binary", "unread"
    size: int
    text: str  # pretty JSON, the text, or a hex preview
    media_type: str

    @property
    def folds(self) -> bool:
        return self.kind in ("json", "text") and (
            self.text.count("\n") >= FOLD_LINES or len(self.text) > FOLD_CHARS
        )

    def head(self) -> str:
        """The part shown before the fold."""
        head = "\n".join(self.text.splitlines()[:FOLD_LINES])
        return head[:FOLD_CHARS]

    def describe(self) -> str:
        if self.kind == "empty":
            return "no body"
        if self.kind == "unread":
            return "body not read yet: a stream"
        parts = [{"json": "JSON", "text": "text", "binary": "binary"}[self.kind]]
        if self.media_type:
            parts.append(self.media_type)
        parts.append(f"{self.size:,} bytes")
        return ", ".join(parts)


def _is_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    return text


def hex_preview(data: bytes, limit: int = HEX_PREVIEW_BYTES) -> str:
    chunk = data[:limit]
    hexed = " ".join(f"{b:02x}" for b in chunk)
    printable = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
    more = f" … ({len(data) - limit:,} more bytes)" if len(data) > limit else ""
    return f"{hexed}  |{printable}|{more}"


def body_of(content: bytes | None, content_type: str | None) -> Body:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if content is None:
        return Body("unread", 0, "", media_type)
    if not content:
        return Body("empty", 0, "", media_type)
    size = len(content)
    if "json" in media_type:
        try:
            parsed = json.loads(content)
        except ValueError:
            pass
        else:
            return Body("json", size, json.dumps(parsed, indent=2, ensure_ascii=False), media_type)
    text = _is_text(content)
    if text is not None:
        return Body("text", size, text, media_type)
    return Body("binary", size, hex_preview(content), media_type)


def response_body(response: Any) -> Body:
    try:
        content = response.content
    except Exception:  # httpx.ResponseNotRead: a stream() response whose body is not read yet
        content = None
    return body_of(content, response.headers.get("content-type"))


# -- requests and responses ------------------------------------------------------------------------


def request_target(request: Any) -> str:
    """``/path?query`` of an httpx request, as sent."""
    return str(request.url.raw_path.decode("ascii"))


def request_line(request: Any) -> str:
    """``GET /path?query``."""
    return f"{request.method} {request_target(request)}"


def status_line(response: Any) -> str:
    return f"{response.status_code} {response.reason_phrase}".rstrip()


def timing(response: Any) -> str:
    """How long the exchange took, or ``streaming`` while its body is still open."""
    elapsed = elapsed_of(response)
    return milliseconds(elapsed) if elapsed is not None else "streaming"


def early_hints(response: Any) -> list[str]:
    """The ``Link`` values of the 103 Early Hints the app sent before its response."""
    hints = getattr(response, "early_hints", None) or []
    return [link.decode("latin-1") if isinstance(link, bytes) else str(link) for link in hints]


def exception_text(exc: BaseException) -> str:
    """``ValueError: boom``."""
    return f"{type(exc).__name__}: {exc}"


def status_family(status: int) -> str:
    families = {1: "info", 2: "success", 3: "redirect", 4: "client-error", 5: "server-error"}
    return families.get(status // 100, "info")


# -- ASGI messages ---------------------------------------------------------------------------------


def value_text(value: Any, limit: int = 60) -> str:
    return shorten(repr(value), limit)


def message_details(message: dict[str, Any], limit: int = 60, header_values: bool = True) -> str:
    """The fields of an ASGI message other than ``type``, one line: ``status=200 headers=[...]``.

    ``header_values=False`` gives only the number of headers (a live server's ``date`` changes).
    """
    parts = []
    for key, value in message.items():
        if key == "type":
            continue
        if key == "headers" and isinstance(value, (list, tuple)) and not header_values:
            parts.append(f"headers=[{len(value)}]")
        elif key == "headers" and isinstance(value, (list, tuple)):
            pairs = header_pairs(value)
            shown = ", ".join(f"{n}: {v}" for n, v in pairs)
            parts.append(f"headers=[{shorten(shown, limit)}]")
        elif key in ("body", "bytes") and isinstance(value, (bytes, bytearray)):
            parts.append(f"{key}={value_text(bytes(value), limit)} ({len(value):,} bytes)")
        else:
            parts.append(f"{key}={value_text(value, limit)}")
    return " ".join(parts)


def arrow_of(direction: str) -> str:
    """``receive`` (the app got it from the client) or ``send`` (the app sent it) as an arrow."""
    return "client → app" if direction == "receive" else "client ← app"


def direction_of(sender: str) -> str:
    """A transcript line's sender as a trace direction: what the client sent, the app receives."""
    return "receive" if sender == "client" else "send"


def scope_target(scope: dict[str, Any]) -> str:
    path = scope.get("raw_path") or str(scope.get("path", "")).encode()
    query = scope.get("query_string") or b""
    target = path.decode("latin-1") if isinstance(path, bytes) else str(path)
    if query:
        target += "?" + (query.decode("latin-1") if isinstance(query, bytes) else str(query))
    return target


def trace_title(trace: Any) -> str:
    scope = trace.scope
    kind = scope.get("type", "?")
    method = scope.get("method")
    what = f"{kind} {method} {scope_target(scope)}" if method else f"{kind} {scope_target(scope)}"
    return what


def call_text(trace: Any) -> str | None:
    """The call that starts it all, for in-process traces: the app is called with the scope."""
    if getattr(trace, "seen_from", "app") != "app":
        return None
    return f"app(scope, receive, send) with scope {trace_title(trace)}"


def seen_from_text(trace: Any) -> str:
    """``, as the client saw it`` for a trace a network client recorded; empty for the app's own."""
    seen = getattr(trace, "seen_from", "app")
    return "" if seen == "app" else f", as the {seen} saw it"


def shown_events(trace: Any) -> tuple[list[Any], str | None]:
    """The messages a display lists (MAX_EVENTS at most), and what it says about the rest."""
    events = list(trace)
    more = len(events) - MAX_EVENTS
    return events[:MAX_EVENTS], (f"… {more:,} more messages (the Trace object has them all)" if more > 0 else None)


def outcome_text(trace: Any) -> str:
    outcome = trace.outcome
    if outcome == "running":
        return "the app is still running"
    if outcome == "returned":
        return "the app returned"
    if outcome == "cancelled":
        return "the app was cancelled"
    if outcome == "stopped":
        return "the client stopped the app: it blocked the event loop past the timeout"
    if outcome.startswith("raised "):
        return f"the app {outcome}"
    # Seen from a network client, the app's call is out of sight: "complete", "closed", "timed out", ...
    return f"the exchange ended: {outcome}"


def blocked_text(trace: Any) -> str | None:
    """The first block of the event loop the app made, with what to do instead; None when it made none."""
    blocks = getattr(trace, "blocks", ())
    if not blocks:
        return None
    more = f" (and {len(blocks) - 1} more)" if len(blocks) > 1 else ""
    return f"{blocks[0].describe()}{more}. {BLOCKING_ADVICE}"


def diagram(trace: Any) -> tuple[list[tuple[str, str]], int, str]:
    """What a sequence diagram of the trace draws: its arrows (direction, label), how many messages it
    leaves out, and the note at the app's end. No time offsets and no header values in it (a live
    server's ``date`` changes), so the picture is the same in every run."""
    arrows = [("receive", "app(scope, …) " + trace_title(trace))] if call_text(trace) is not None else []
    events = list(trace)
    for event in events[:MAX_DIAGRAM_EVENTS]:
        kind = str(event.message.get("type", "?"))
        arrows.append((event.direction, f"{kind} {message_details(event.message, limit=24, header_values=False)}"))
    return arrows, max(len(events) - MAX_DIAGRAM_EVENTS, 0), outcome_text(trace).removeprefix("the app ")


# -- WebSocket sessions ----------------------------------------------------------------------------


def transcript_data(kind: str, data: Any, limit: int = 80) -> str:
    if kind == "text":
        return shorten(repr(data), limit)
    if kind == "bytes":
        return f"{shorten(repr(data), limit)} ({len(data):,} bytes)"
    if kind == "close":
        code, reason = data
        return close_code_name(code) + (f" {reason!r}" if reason else "")
    if kind == "accept":
        return f"subprotocol {data!r}" if data else ""
    if kind == "denied":
        return f"HTTP {data}"
    return ""


def transcript_lines(session: Any) -> tuple[list[Any], str | None]:
    """The transcript lines a display lists (MAX_EVENTS at most), and what it says about the rest."""
    transcript = session.transcript if getattr(session, "trace", None) is not None else []
    more = len(transcript) - MAX_EVENTS
    return transcript[:MAX_EVENTS], (f"… {more:,} more lines (see session.transcript)" if more > 0 else None)


def closed_text(session: Any) -> tuple[str, str]:
    """``("closed by the app", "4000, 'bye'")``: who closed the session, then the code and the reason."""
    reason = repr(session.close_reason) if session.close_reason else "no reason"
    return f"closed by the {session.closed_by}", f"{close_code_name(session.close_code)}, {reason}"


def session_state(session: Any) -> str:
    if session.closed:
        reason = f", reason {session.close_reason!r}" if session.close_reason else ""
        return f"closed by the {session.closed_by}: {close_code_name(session.close_code)}{reason}"
    if session.accepted:
        return "open"
    return "not connected"


# -- clients -----------------------------------------------------------------------------------------


def client_facts(client: Any) -> tuple[str, list[tuple[str, str]]]:
    """What a client drives (its transport, else its app) and its settings worth showing."""
    target = client.transport.describe() if hasattr(client, "transport") else repr(client.app)
    facts = [("timeout", "none (waits forever)" if client.timeout is None else f"{client.timeout:g} s")]
    if client.state:
        facts.append(("lifespan state", ", ".join(sorted(map(str, client.state)))))
    return target, facts


NOTHING_SENT = "history: nothing sent yet"


def history_title(history: list[Any]) -> str:
    return f"history ({len(history)}, newest last)"


# -- endpoint classes ------------------------------------------------------------------------------

NO_METHODS = "nothing (every method gets 405)"
NO_HANDLERS = "handlers: none of its own (the defaults apply)"
#: What each WebSocket hook answers, in the order a session calls them.
HOOKS = {"on_connect": "the connection", "on_receive": "each message", "on_disconnect": "the close"}


class Handler(NamedTuple):
    name: str  # "get", "on_receive"
    serves: str  # "GET, HEAD" or "each message"
    inherited_from: str  # the base class that defines it; "" when the class itself does
    kind: str  # "async" or SYNC_HANDLER: "sync (runs in a worker thread)"
    signature: str
    doc: str


class Endpoint(NamedTuple):
    """An endpoint class as its displays describe it."""

    base: str  # "HTTPEndpoint" or "WebSocketEndpoint"
    qualname: str
    module: str
    doc: str  # the docstring's first line
    allowed: list[str] | None  # an HTTP endpoint's methods, in Allow header order
    encoding: str | None  # a WebSocket endpoint's ``repr(encoding)`` ...
    encoding_meaning: str  # ... and what it does
    handlers: list[Handler]


def endpoint_kind(cls: type) -> str | None:
    """"http" or "websocket" for an endpoint class (ours or Starlette's), else None."""
    if not isinstance(cls, type):
        return None
    names = {klass.__name__ for klass in cls.__mro__}
    if "HTTPEndpoint" in names and cls.__name__ != "HTTPEndpoint":
        return "http"
    if "WebSocketEndpoint" in names and cls.__name__ != "WebSocketEndpoint":
        return "websocket"
    return None


def endpoint_of(cls: type) -> Endpoint:
    """The facts the endpoint displays show; TypeError for a class that is not an endpoint."""
    kind = endpoint_kind(cls)
    if kind is None:
        raise TypeError(f"{cls!r} is not an HTTPEndpoint or WebSocketEndpoint subclass")
    doc = cls.__doc__.strip().splitlines()[0] if cls.__doc__ and cls.__doc__.strip() else ""
    if kind == "http":
        from ..endpoints import allowed_methods_of

        return Endpoint("HTTPEndpoint", cls.__qualname__, cls.__module__, doc, allowed_methods_of(cls), None, "",
                        http_handlers(cls))
    encoding = getattr(cls, "encoding", None)
    meaning = "text or bytes, passed on as they come" if encoding is None else (
        f"{encoding} messages; anything else closes with 1003")
    return Endpoint("WebSocketEndpoint", cls.__qualname__, cls.__module__, doc, None, repr(encoding), meaning,
                    websocket_handlers(cls))


def _handler(cls: type, name: str, serves: str) -> Handler:
    function = getattr(cls, name)
    owner = next((klass.__qualname__ for klass in cls.__mro__ if name in vars(klass)), cls.__qualname__)
    is_async = inspect.iscoroutinefunction(function)
    try:
        signature = str(inspect.signature(function))
    except (TypeError, ValueError):
        signature = "(...)"
    doc = inspect.cleandoc(function.__doc__ or "").splitlines()
    return Handler(name, serves, "" if owner == cls.__qualname__ else owner,
                   "async" if is_async else SYNC_HANDLER, signature, doc[0] if doc else "")


def http_handlers(cls: type) -> list[Handler]:
    """The handlers that answer, each with the methods it answers (as the endpoint dispatches them)."""
    from ..endpoints import allowed_methods_of, handler_name

    served: dict[str, list[str]] = {}
    for method in allowed_methods_of(cls):
        served.setdefault(handler_name(cls, method), []).append(method)
    handlers = [_handler(cls, name, ", ".join(methods)) for name, methods in served.items()
                if getattr(cls, name, None) is not None]
    if "method_not_allowed" in _overridden(cls, "HTTPEndpoint"):
        handlers.append(_handler(cls, "method_not_allowed", "any other method"))
    return handlers


def websocket_handlers(cls: type) -> list[Handler]:
    """The hooks the class changes (the defaults accept, then ignore every message)."""
    overridden = _overridden(cls, "WebSocketEndpoint")
    return [_handler(cls, name, serves) for name, serves in HOOKS.items() if name in overridden]


def _overridden(cls: type, base_name: str) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__name__ == base_name:
            break
        names.update(vars(klass))
    return names
