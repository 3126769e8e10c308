"""HTML displays that read well in JupyterLab, trusted or not, light theme or dark.

A notebook opened from git is untrusted, and JupyterLab sanitises its stored HTML: no ``<style>``,
no ``<script>``, no inline ``<svg>``, no ``id``; inline styles keep only allow-listed properties with
literal colours. So the markup is plain semantic HTML with inline styles in translucent ``rgba()``
colours (readable on light and dark backgrounds), ``<details>`` for folding, and the sequence diagram
as a ``data:`` SVG image with the same facts in text beside it. A namespaced ``<style>`` block at the
end only polishes the trusted view with the theme's own variables. Every string that comes from the
app is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .common import (
    APP_HEX,
    APP_RGB,
    CLIENT_HEX,
    CLIENT_RGB,
    NO_HANDLERS,
    NO_METHODS,
    NOTHING_SENT,
    arrow_of,
    blocked_text,
    call_text,
    client_facts,
    closed_text,
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
    status_family,
    status_line,
    timing,
    trace_title,
    transcript_data,
    transcript_lines,
    value_text,
)
from .svg import sequence_img, sequence_svg

__all__ = ["client_html", "endpoint_html", "response_html", "sequence_svg", "session_html", "trace_html"]

# -- inline styles: only allow-listed properties, literal colours ---------------------------------

BOX = "border:1px solid rgba(127,127,127,.35);border-radius:6px;padding:6px 10px;margin:4px 0"
HEAD = "margin:0 0 4px 0;font-weight:600"
MUTED = "opacity:.7"
TABLE = "border-collapse:collapse;margin:2px 0"
CELL = "text-align:left;vertical-align:top;padding:1px 8px 1px 0;border:none"
CODE_CELL = CELL + ";font-family:monospace;white-space:pre-wrap"
TIME_CELL = CELL + ";font-family:monospace;white-space:nowrap;" + MUTED  # an offset never wraps
#: ``overflow-wrap`` keeps only ``normal`` and ``break-word`` through the sanitiser (``anywhere`` is dropped).
PRE = ("margin:4px 0;padding:6px 8px;background:rgba(127,127,127,.10);border-radius:4px;"
       "white-space:pre-wrap;overflow-wrap:break-word")
SUMMARY = "margin:2px 0"
BADGE = "display:inline-block;padding:0 6px;border-radius:4px;font-weight:600"
STATUS_COLOURS = {
    "info": "127,127,127",
    "success": "46,160,67",
    "redirect": "56,132,255",
    "client-error": "210,153,34",
    "server-error": "218,54,51",
}
#: Applies only where the output is trusted (this session's cells); the markup reads well without it.
#: Sanitised, a table whose longest words do not fit a narrow output area overruns the box (the output
#: area scrolls); trusted, the box scrolls itself.
STYLE = """<style>
.pg-display{color:var(--jp-content-font-color1,inherit);overflow-x:auto}
.pg-display pre{overflow-wrap:anywhere}
.pg-display code,.pg-display pre,.pg-display .pg-mono{font-family:var(--jp-code-font-family,monospace)}
.pg-display summary{cursor:pointer}
.pg-display table{font-size:var(--jp-code-font-size,inherit)}
.pg-display .pg-box{border-color:var(--jp-border-color1,rgba(127,127,127,.35))}
.pg-display tr:hover{background:rgba(127,127,127,.08)}
</style>"""


# -- the building blocks (the waterfall and the .http run's display use them too) -------------------


def badge(text: str, rgb: str) -> str:
    return (f'<span style="{BADGE};background:rgba({rgb},.18);border:1px solid rgba({rgb},.6)">'
            f"{escape(text)}</span>")


def wrap(kind: str, inner: str) -> str:
    """The box every display sits in, and the style block that polishes it where it is trusted."""
    return f'<div class="pg-display pg-{kind} pg-box" style="{BOX}">{inner}</div>{STYLE}'


def details(summary: str, inner: str, *, open_: bool = False) -> str:
    attr = " open" if open_ else ""
    return f'<details{attr}><summary style="{SUMMARY}">{summary}</summary>{inner}</details>'


def muted(text: str) -> str:
    return f'<small class="pg-muted" style="{MUTED}">{escape(text)}</small>'


def pre(text: str) -> str:
    return f'<pre style="{PRE}">{escape(text)}</pre>'


def rows(pairs: list[tuple[str, str]], *, mono: bool = True) -> str:
    """A table of name/value pairs (headers, the scope, a client's settings)."""
    style = CODE_CELL if mono else CELL
    cells = "".join(f'<tr><th style="{CELL}">{escape(name)}</th><td style="{style}">{escape(value)}</td></tr>'
                    for name, value in pairs)
    return f'<table style="{TABLE}"><tbody>{cells}</tbody></table>'


def table(head: list[str], body: list[str]) -> str:
    """A table with a heading row (already markup: a column's name may be coloured) and rows of markup."""
    return (f'<table style="{TABLE}"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def heading(name: str) -> str:
    return f'<th style="{CELL}">{name}</th>'


# -- responses -----------------------------------------------------------------------------------


def _blocked_html(trace: Any) -> str:
    text = blocked_text(trace)
    if not text:
        return ""
    return f'<div>{badge("blocked the event loop", STATUS_COLOURS["client-error"])} <code>{escape(text)}</code></div>'


def _trace_footer(trace: Any) -> str:
    """Under a response or a session: the event loop blocks it made, and its trace, folded."""
    if trace is None:
        return ""
    summary = f"ASGI trace: {messages(len(trace))}, {escape(outcome_text(trace))}"
    return _blocked_html(trace) + details(summary, _trace_body(trace))


def _response_head(response: Any) -> str:
    rgb = STATUS_COLOURS[status_family(response.status_code)]
    return (f"<code>{escape(request_line(response.request))}</code>"
            f" → {badge(status_line(response), rgb)} {muted(timing(response))}")


def _body_html(response: Any) -> str:
    body = response_body(response)
    about = f"<div>{muted(body.describe())}</div>"
    if body.kind in ("empty", "unread"):
        return about
    if body.folds:
        return about + pre(body.head()) + details(escape("the whole body"), pre(body.text))
    return about + pre(body.text)


def response_html(response: Any) -> str:
    parts = [f'<div style="{HEAD}">{_response_head(response)}</div>']
    for hop in getattr(response, "history", None) or []:
        parts.append(f"<div>{muted('after a redirect:')} {_response_head(hop)}</div>")
    hints = early_hints(response)
    if hints:
        parts.append(f"<div>{muted('early hints:')} <code>{escape(', '.join(hints))}</code></div>")
    headers = header_pairs(response.headers.raw)
    parts.append(details(f"headers ({len(headers)})", rows(headers), open_=len(headers) <= 8))
    parts.append(_body_html(response))
    trailers = getattr(response, "trailers", None)
    if trailers:
        parts.append(details("trailers", rows(header_pairs(trailers)), open_=True))
    exc = getattr(response, "app_exception", None)
    if exc is not None:
        parts.append(f'<div>{badge("the app raised", STATUS_COLOURS["server-error"])} '
                     f"<code>{escape(exception_text(exc))}</code> {muted('(response.app_exception)')}</div>")
    parts.append(_trace_footer(getattr(response, "trace", None)))
    return wrap("response", "".join(parts))


# -- traces ----------------------------------------------------------------------------------------


def _direction_cell(direction: str) -> str:
    colour = CLIENT_HEX if direction == "receive" else APP_HEX
    return f'<td style="{CELL};color:{colour};white-space:nowrap">{arrow_of(direction)}</td>'


def _trace_table(trace: Any) -> str:
    events, more = shown_events(trace)
    body = []
    call = call_text(trace)
    if call is not None:
        body.append(
            f'<tr style="background:rgba({CLIENT_RGB},.07)">'
            f'<td style="{TIME_CELL}">{escape(offset(0.0))}</td>{_direction_cell("receive")}'
            f'<td colspan="2" style="{CODE_CELL}">{escape(call)}</td></tr>'
        )
    for event in events:
        rgb = CLIENT_RGB if event.direction == "receive" else APP_RGB
        body.append(
            f'<tr style="background:rgba({rgb},.07)">'
            f'<td style="{TIME_CELL}">{escape(offset(event.offset))}</td>'
            f"{_direction_cell(event.direction)}"
            f'<td style="{CODE_CELL}">{escape(str(event.message.get("type", "?")))}</td>'
            f'<td style="{CODE_CELL}">{escape(message_details(event.message))}</td></tr>'
        )
    if more:
        body.append(f'<tr><td colspan="4" style="{CELL}">{muted(more)}</td></tr>')
    end = escape(offset(trace.outcome_offset)) if trace.outcome_offset is not None else ""
    body.append(f'<tr><td style="{TIME_CELL}">{end}</td>'
                f'<td colspan="3" style="{CELL}"><em>{escape(outcome_text(trace))}</em></td></tr>')
    return table([heading(name) for name in ("offset", "direction", "message", "fields")], body)


def _scope_html(scope: dict[str, Any]) -> str:
    pairs = []
    for key, value in scope.items():
        if key == "headers" and isinstance(value, (list, tuple)):
            text = "\n".join(f"{n}: {v}" for n, v in header_pairs(value))
        else:
            text = value_text(value, 200)
        pairs.append((str(key), text))
    return details("scope", rows(pairs))


def _trace_body(trace: Any) -> str:
    layout = "display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start"
    return (f'<div style="{layout}"><div>{sequence_img(trace)}</div><div>{_trace_table(trace)}</div></div>'
            f"{_scope_html(trace.scope)}")


def trace_html(trace: Any) -> str:
    head = (f'<div style="{HEAD}">ASGI trace of <code>{escape(trace_title(trace))}</code> '
            f"{muted(f'{messages(len(trace))}{seen_from_text(trace)}')}</div>")
    return wrap("trace", head + _blocked_html(trace) + _trace_body(trace))


# -- WebSocket sessions ----------------------------------------------------------------------------


def session_head(session: Any) -> str:
    closed_rgb = STATUS_COLOURS["success" if session.close_code in (1000, None) or not session.closed
                                else "client-error"]
    return (f"<code>WebSocket {escape(session.url)}</code> "
            f"{badge(session_state(session), closed_rgb if session.closed else CLIENT_RGB)}")


def session_html(session: Any) -> str:
    parts = [f'<div style="{HEAD}">{session_head(session)}</div>']
    if session.accepted_subprotocol:
        protocol = escape(session.accepted_subprotocol)
        parts.append(f"<div>{muted('subprotocol:')} <code>{protocol}</code></div>")
    transcript, more = transcript_lines(session)
    body = []
    for line in transcript:
        data = f"{line.kind} {transcript_data(line.kind, line.data)}".rstrip()
        time_cell = f'<td style="{TIME_CELL}">{escape(offset(line.offset))}</td>'
        if line.sender == "client":
            body.append(f'<tr>{time_cell}<td style="{CODE_CELL};background:rgba({CLIENT_RGB},.10)">'
                        f'{escape(data)}</td><td style="{CELL};color:{CLIENT_HEX}">→</td>'
                        f'<td style="{CELL}"></td></tr>')
        else:
            body.append(f'<tr>{time_cell}<td style="{CELL}"></td><td style="{CELL};color:{APP_HEX}">←</td>'
                        f'<td style="{CODE_CELL};background:rgba({APP_RGB},.10)">{escape(data)}</td></tr>')
    if more:
        body.append(f'<tr><td colspan="4" style="{CELL}">{muted(more)}</td></tr>')
    head = [heading("offset"), f'<th style="{CELL};color:{CLIENT_HEX}">client sent</th>', heading(""),
            f'<th style="{CELL};color:{APP_HEX}">app sent</th>']
    parts.append(table(head, body))
    if session.closed:
        who, how = closed_text(session)
        parts.append(f"<div><strong>{escape(who)}</strong>: {escape(how)}</div>")
    parts.append(_trace_footer(getattr(session, "trace", None)))
    return wrap("session", "".join(parts))


# -- clients ---------------------------------------------------------------------------------------


def client_html(client: Any) -> str:
    target, facts = client_facts(client)
    parts = [f'<div style="{HEAD}">Client for <code>{escape(target)}</code> '
             f"{muted(f'at {client.base_url}')}</div>", rows(facts, mono=False)]
    history = list(client.history)
    if not history:
        parts.append(f"<div>{muted(NOTHING_SENT)}</div>")
    else:
        items = "".join(f'<tr><td style="{CELL}">'
                        f"{_response_head(item) if hasattr(item, 'status_code') else session_head(item)}</td></tr>"
                        for item in history)
        parts.append(details(history_title(history), f'<table style="{TABLE}"><tbody>{items}</tbody></table>',
                             open_=True))
    return wrap("client", "".join(parts))


# -- endpoint classes ------------------------------------------------------------------------------


def endpoint_html(cls: type) -> str:
    endpoint = endpoint_of(cls)
    title = f"<code>{escape(endpoint.qualname)}</code> {muted(f'{endpoint.base}, module {endpoint.module}')}"
    parts = [f'<div style="{HEAD}">{title}</div>']
    if endpoint.doc:
        parts.append(f"<div><em>{escape(endpoint.doc)}</em></div>")
    if endpoint.allowed is not None:
        badges = " ".join(badge(method, STATUS_COLOURS["success"]) for method in endpoint.allowed)
        parts.append(f"<div>allows: {badges or escape(NO_METHODS)}</div>")
    else:
        parts.append(f"<div>encoding: <code>{escape(endpoint.encoding or '')}</code> "
                     f"{muted(endpoint.encoding_meaning)}</div>")
    if endpoint.handlers:
        body = [
            f'<tr><td style="{CODE_CELL}">{escape(handler.name + handler.signature)}</td>'
            f'<td style="{CELL}">{escape(handler.serves)}</td>'
            f'<td style="{CELL}">{escape(handler.kind)}</td>'
            f'<td style="{CELL}">{escape(handler.doc)}'
            f'{muted(" from " + handler.inherited_from) if handler.inherited_from else ""}</td></tr>'
            for handler in endpoint.handlers
        ]
        parts.append(table([heading(name) for name in ("handler", "answers", "runs", "")], body))
    else:
        parts.append(f"<div>{muted(NO_HANDLERS)}</div>")
    return wrap("endpoint", "".join(parts))
