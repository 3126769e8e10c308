"""Plain-text displays: what ``repr`` in a terminal, ``text/plain`` and ``_repr_pretty_`` show."""

from __future__ import annotations

from typing import Any

from .common import (
    MAX_EVENTS,
    allowed_methods,
    arrow_of,
    blocked_text,
    call_text,
    class_doc,
    close_code_name,
    elapsed_of,
    endpoint_kind,
    header_pairs,
    http_handlers,
    message_details,
    messages,
    milliseconds,
    offset,
    outcome_text,
    request_target,
    response_body,
    session_state,
    status_line,
    trace_title,
    transcript_data,
    websocket_handlers,
)

__all__ = ["client_text", "endpoint_text", "response_text", "session_text", "trace_text"]

INDENT = "  "


def response_summary(response: Any) -> str:
    """One line: ``GET /users/tom → 200 OK  (0.250 ms)``."""
    elapsed = elapsed_of(response)
    timing = f"  ({milliseconds(elapsed)})" if elapsed is not None else "  (streaming)"
    return f"{response.request.method} {request_target(response.request)} → {status_line(response)}{timing}"


def response_text(response: Any) -> str:
    lines = [response_summary(response)]
    for hop in getattr(response, "history", None) or []:
        lines.append(f"{INDENT}after a redirect: {hop.request.method} {request_target(hop.request)} → "
                     f"{status_line(hop)} {hop.headers.get('location', '')}".rstrip())
    for link in getattr(response, "early_hints", None) or []:
        lines.append(f"{INDENT}early hint: {link.decode('latin-1') if isinstance(link, bytes) else link}")
    lines.extend(f"{name}: {value}" for name, value in header_pairs(response.headers.raw))
    body = response_body(response)
    lines.append("")
    if body.kind in ("empty", "unread"):
        lines.append(f"({body.describe()})")
    elif body.kind == "binary":
        lines.append(f"({body.describe()}) {body.text}")
    elif body.folds:
        lines.append(body.head())
        rest = body.text.count("\n") + 1 - body.head().count("\n") - 1
        lines.append(f"… ({body.describe()}; {max(rest, 0):,} more lines, see response.text)")
    else:
        lines.append(body.text)
    trailers = getattr(response, "trailers", None)
    if trailers:
        lines.append("")
        lines.extend(f"trailer {name}: {value}" for name, value in header_pairs(trailers))
    exc = getattr(response, "app_exception", None)
    if exc is not None:
        lines.append(f"the app raised {type(exc).__name__}: {exc} (kept on response.app_exception)")
    trace = getattr(response, "trace", None)
    blocked = blocked_text(trace) if trace is not None else None
    if blocked:
        lines.append(blocked)
    if trace is not None:
        count = messages(len(trace), "ASGI messages")
        lines.append(f"trace: {count}, {outcome_text(trace)} (response.trace)")
    return "\n".join(lines)


def trace_lines(trace: Any, indent: str = INDENT) -> list[str]:
    events = list(trace)
    width = max((len(event.message.get("type", "?")) for event in events[:MAX_EVENTS]), default=0)
    lines = []
    call = call_text(trace)
    if call is not None:
        lines.append(f"{indent}{offset(0.0):>12}  {arrow_of('receive')}  {call}")
    for event in events[:MAX_EVENTS]:
        kind = event.message.get("type", "?")
        details = message_details(event.message)
        lines.append(f"{indent}{offset(event.offset):>12}  {arrow_of(event.direction)}  {kind:<{width}}  "
                     f"{details}".rstrip())
    if len(events) > MAX_EVENTS:
        more = len(events) - MAX_EVENTS
        lines.append(f"{indent}… {more:,} more messages (the Trace object has them all)")
    blocked = blocked_text(trace)
    if blocked:
        lines.append(f"{indent}{blocked}")
    end = f"{offset(trace.outcome_offset):>12}  " if trace.outcome_offset is not None else ""
    lines.append(f"{indent}{end}{outcome_text(trace)}")
    return lines


def trace_text(trace: Any) -> str:
    seen = "" if getattr(trace, "seen_from", "app") == "app" else f", as the {trace.seen_from} saw it"
    head = f"ASGI trace of {trace_title(trace)}: {messages(len(trace))}{seen}"
    return "\n".join([head, *trace_lines(trace)])


def session_summary(session: Any) -> str:
    return f"WebSocket {session.url} — {session_state(session)}"


def session_text(session: Any) -> str:
    lines = [session_summary(session)]
    if session.accepted_subprotocol:
        lines.append(f"{INDENT}subprotocol: {session.accepted_subprotocol}")
    trace = getattr(session, "trace", None)
    transcript = session.transcript if trace is not None else []
    for line in transcript[:MAX_EVENTS]:
        arrow = "client → app" if line.sender == "client" else "client ← app"
        data = transcript_data(line.kind, line.data)
        lines.append(f"{INDENT}{offset(line.offset):>12}  {arrow}  {line.kind:<7} {data}".rstrip())
    if len(transcript) > MAX_EVENTS:
        lines.append(f"{INDENT}… {len(transcript) - MAX_EVENTS:,} more lines (see session.transcript)")
    if session.closed:
        reason = repr(session.close_reason) if session.close_reason else "no reason"
        lines.append(f"closed by the {session.closed_by}: {close_code_name(session.close_code)}, {reason}")
    blocked = blocked_text(trace) if trace is not None else None
    if blocked:
        lines.append(blocked)
    if trace is not None:
        lines.append(f"trace: {messages(len(trace), 'ASGI messages')}, {outcome_text(trace)} (session.trace)")
    return "\n".join(lines)


def history_line(item: Any) -> str:
    if hasattr(item, "status_code"):
        return response_summary(item)
    return session_summary(item)


def client_text(client: Any) -> str:
    transport = client.transport.describe() if hasattr(client, "transport") else repr(client.app)
    lines = [f"Client for {transport} at {client.base_url}"]
    timeout = "none (waits forever)" if client.timeout is None else f"{client.timeout:g} s"
    lines.append(f"{INDENT}timeout: {timeout}")
    state = client.state
    if state:
        lines.append(f"{INDENT}lifespan state: {', '.join(sorted(map(str, state)))}")
    history = list(client.history)
    if history:
        lines.append(f"history ({len(history)}, newest last):")
        lines.extend(INDENT + history_line(item) for item in history)
    else:
        lines.append("history: nothing sent yet")
    return "\n".join(lines)


def endpoint_text(cls: type) -> str:
    kind = endpoint_kind(cls)
    if kind is None:
        raise TypeError(f"{cls!r} is not an HTTPEndpoint or WebSocketEndpoint subclass")
    base = "HTTPEndpoint" if kind == "http" else "WebSocketEndpoint"
    lines = [f"{base} {cls.__qualname__} (module {cls.__module__})"]
    doc = class_doc(cls)
    if doc:
        lines.append(f"{INDENT}{doc}")
    if kind == "http":
        allowed = allowed_methods(cls)
        allows = ", ".join(allowed) if allowed else "nothing (every method gets 405)"
        lines.append(f"{INDENT}allows: {allows}")
        handlers = http_handlers(cls)
    else:
        encoding = getattr(cls, "encoding", None)
        meaning = "text or bytes, passed on as they come" if encoding is None else (
            f"{encoding} messages; anything else closes with 1003")
        lines.append(f"{INDENT}encoding: {encoding!r} ({meaning})")
        handlers = websocket_handlers(cls)
    if not handlers:
        lines.append(f"{INDENT}handlers: none of its own (the defaults apply)")
    for handler in handlers:
        where = "" if handler.defined_in == cls.__qualname__ else f", from {handler.defined_in}"
        lines.append(f"{INDENT}{handler.name}{handler.signature}  {handler.kind}{where} → {handler.serves}")
        if handler.doc:
            lines.append(f"{INDENT * 2}{handler.doc}")
    return "\n".join(lines)
