"""Plain-text displays: what ``repr`` in a terminal, ``text/plain`` and ``_repr_pretty_`` show.

The words come from ``common``; here they are laid out as lines.
"""

from __future__ import annotations

from typing import Any

from .common import (
    NO_HANDLERS,
    NO_METHODS,
    NOTHING_SENT,
    arrow_of,
    blocked_text,
    call_text,
    client_facts,
    closed_text,
    direction_of,
    early_hints,
    endpoint_of,
    exception_text,
    header_pairs,
    history_title,
    message_details,
    messages,
    offset,
    outcome_text,
    request_line,
    response_body,
    seen_from_text,
    session_state,
    shown_events,
    status_line,
    timing,
    trace_title,
    transcript_data,
    transcript_lines,
)

__all__ = ["client_text", "endpoint_text", "response_text", "session_text", "trace_text"]

INDENT = "  "


def response_summary(response: Any) -> str:
    """One line: ``GET /users/tom → 200 OK  (0.250 ms)``."""
    return f"{request_line(response.request)} → {status_line(response)}  ({timing(response)})"


def _body_lines(response: Any) -> list[str]:
    body = response_body(response)
    if body.kind in ("empty", "unread"):
        return [f"({body.describe()})"]
    if body.kind == "binary":
        return [f"({body.describe()}) {body.text}"]
    if body.folds:
        rest = body.text.count("\n") + 1 - body.head().count("\n") - 1
        return [body.head(), f"… ({body.describe()}; {max(rest, 0):,} more lines, see response.text)"]
    return [body.text]


def _trace_footer(trace: Any, where: str) -> list[str]:
    """Under a response or a session: the event loop blocks it made, and its trace in one line."""
    if trace is None:
        return []
    blocked = blocked_text(trace)
    return [*([blocked] if blocked else []),
            f"trace: {messages(len(trace), 'ASGI messages')}, {outcome_text(trace)} ({where})"]


def response_text(response: Any) -> str:
    lines = [response_summary(response)]
    for hop in getattr(response, "history", None) or []:
        lines.append(f"{INDENT}after a redirect: {request_line(hop.request)} → "
                     f"{status_line(hop)} {hop.headers.get('location', '')}".rstrip())
    lines.extend(f"{INDENT}early hint: {link}" for link in early_hints(response))
    lines.extend(f"{name}: {value}" for name, value in header_pairs(response.headers.raw))
    lines.append("")
    lines.extend(_body_lines(response))
    trailers = getattr(response, "trailers", None)
    if trailers:
        lines.append("")
        lines.extend(f"trailer {name}: {value}" for name, value in header_pairs(trailers))
    exc = getattr(response, "app_exception", None)
    if exc is not None:
        lines.append(f"the app raised {exception_text(exc)} (kept on response.app_exception)")
    lines.extend(_trace_footer(getattr(response, "trace", None), "response.trace"))
    return "\n".join(lines)


def trace_lines(trace: Any, indent: str = INDENT) -> list[str]:
    events, more = shown_events(trace)
    width = max((len(event.message.get("type", "?")) for event in events), default=0)
    lines = []
    call = call_text(trace)
    if call is not None:
        lines.append(f"{indent}{offset(0.0):>12}  {arrow_of('receive')}  {call}")
    for event in events:
        kind = event.message.get("type", "?")
        details = message_details(event.message)
        lines.append(f"{indent}{offset(event.offset):>12}  {arrow_of(event.direction)}  {kind:<{width}}  "
                     f"{details}".rstrip())
    if more:
        lines.append(f"{indent}{more}")
    blocked = blocked_text(trace)
    if blocked:
        lines.append(f"{indent}{blocked}")
    end = f"{offset(trace.outcome_offset):>12}  " if trace.outcome_offset is not None else ""
    lines.append(f"{indent}{end}{outcome_text(trace)}")
    return lines


def trace_text(trace: Any) -> str:
    head = f"ASGI trace of {trace_title(trace)}: {messages(len(trace))}{seen_from_text(trace)}"
    return "\n".join([head, *trace_lines(trace)])


def session_summary(session: Any) -> str:
    return f"WebSocket {session.url} — {session_state(session)}"


def session_text(session: Any) -> str:
    lines = [session_summary(session)]
    if session.accepted_subprotocol:
        lines.append(f"{INDENT}subprotocol: {session.accepted_subprotocol}")
    transcript, more = transcript_lines(session)
    for line in transcript:
        arrow = arrow_of(direction_of(line.sender))
        data = transcript_data(line.kind, line.data)
        lines.append(f"{INDENT}{offset(line.offset):>12}  {arrow}  {line.kind:<7} {data}".rstrip())
    if more:
        lines.append(f"{INDENT}{more}")
    if session.closed:
        lines.append(": ".join(closed_text(session)))
    lines.extend(_trace_footer(getattr(session, "trace", None), "session.trace"))
    return "\n".join(lines)


def history_line(item: Any) -> str:
    if hasattr(item, "status_code"):
        return response_summary(item)
    return session_summary(item)


def client_text(client: Any) -> str:
    target, facts = client_facts(client)
    lines = [f"Client for {target} at {client.base_url}"]
    lines.extend(f"{INDENT}{name}: {value}" for name, value in facts)
    history = list(client.history)
    if history:
        lines.append(f"{history_title(history)}:")
        lines.extend(INDENT + history_line(item) for item in history)
    else:
        lines.append(NOTHING_SENT)
    return "\n".join(lines)


def endpoint_text(cls: type) -> str:
    endpoint = endpoint_of(cls)
    lines = [f"{endpoint.base} {endpoint.qualname} (module {endpoint.module})"]
    if endpoint.doc:
        lines.append(f"{INDENT}{endpoint.doc}")
    if endpoint.allowed is not None:
        lines.append(f"{INDENT}allows: {', '.join(endpoint.allowed) or NO_METHODS}")
    else:
        lines.append(f"{INDENT}encoding: {endpoint.encoding} ({endpoint.encoding_meaning})")
    if not endpoint.handlers:
        lines.append(f"{INDENT}{NO_HANDLERS}")
    for handler in endpoint.handlers:
        where = f", from {handler.inherited_from}" if handler.inherited_from else ""
        lines.append(f"{INDENT}{handler.name}{handler.signature}  {handler.kind}{where} → {handler.serves}")
        if handler.doc:
            lines.append(f"{INDENT * 2}{handler.doc}")
    return "\n".join(lines)
