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

import base64
from html import escape
from typing import Any

from .common import (
    MAX_DIAGRAM_EVENTS,
    MAX_EVENTS,
    allowed_methods,
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
    shorten,
    status_family,
    status_line,
    trace_title,
    transcript_data,
    value_text,
    websocket_handlers,
)

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
#: client → app in blue, app → client in orange. One colour must serve both themes, so these are mid-tones
#: with about 4:1 contrast on white and 4.7:1 on JupyterLab's dark background (a brighter orange was 2.9:1
#: on white).
CLIENT_RGB = "43,125,233"
APP_RGB = "200,101,27"
CLIENT_HEX = "#2b7de9"
APP_HEX = "#c8651b"

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


def _badge(text: str, rgb: str) -> str:
    return (f'<span style="{BADGE};background:rgba({rgb},.18);border:1px solid rgba({rgb},.6)">'
            f"{escape(text)}</span>")


def _wrap(kind: str, inner: str) -> str:
    return f'<div class="pg-display pg-{kind} pg-box" style="{BOX}">{inner}</div>{STYLE}'


def _details(summary: str, inner: str, *, open_: bool = False) -> str:
    attr = " open" if open_ else ""
    return f'<details{attr}><summary style="{SUMMARY}">{summary}</summary>{inner}</details>'


def _muted(text: str) -> str:
    return f'<small class="pg-muted" style="{MUTED}">{escape(text)}</small>'


def _pre(text: str) -> str:
    return f'<pre style="{PRE}">{escape(text)}</pre>'


def _rows(pairs: list[tuple[str, str]], *, mono: bool = True) -> str:
    style = CODE_CELL if mono else CELL
    rows = "".join(f'<tr><th style="{CELL}">{escape(name)}</th><td style="{style}">{escape(value)}</td></tr>'
                   for name, value in pairs)
    return f'<table style="{TABLE}"><tbody>{rows}</tbody></table>'


# -- responses -----------------------------------------------------------------------------------


def _blocked_html(trace: Any) -> str:
    text = blocked_text(trace) if trace is not None else None
    if not text:
        return ""
    return (f'<div>{_badge("blocked the event loop", STATUS_COLOURS["client-error"])} '
            f"<code>{escape(text)}</code></div>")


def _response_head(response: Any) -> str:
    rgb = STATUS_COLOURS[status_family(response.status_code)]
    elapsed = elapsed_of(response)
    timing = milliseconds(elapsed) if elapsed is not None else "streaming"
    return (f"<code>{escape(response.request.method)} {escape(request_target(response.request))}</code>"
            f" → {_badge(status_line(response), rgb)} {_muted(timing)}")


def _body_html(response: Any) -> str:
    body = response_body(response)
    if body.kind in ("empty", "unread"):
        return f"<div>{_muted(body.describe())}</div>"
    if body.kind == "binary":
        return f"<div>{_muted(body.describe())}</div>{_pre(body.text)}"
    if body.folds:
        return (f"<div>{_muted(body.describe())}</div>{_pre(body.head())}"
                + _details(escape("the whole body"), _pre(body.text)))
    return f"<div>{_muted(body.describe())}</div>{_pre(body.text)}"


def response_html(response: Any) -> str:
    parts = [f'<div style="{HEAD}">{_response_head(response)}</div>']
    for hop in getattr(response, "history", None) or []:
        parts.append(f"<div>{_muted('after a redirect:')} {_response_head(hop)}</div>")
    hints = getattr(response, "early_hints", None) or []
    if hints:
        links = [link.decode("latin-1") if isinstance(link, bytes) else str(link) for link in hints]
        parts.append(f"<div>{_muted('early hints:')} <code>{escape(', '.join(links))}</code></div>")
    headers = header_pairs(response.headers.raw)
    parts.append(_details(f"headers ({len(headers)})", _rows(headers), open_=len(headers) <= 8))
    parts.append(_body_html(response))
    trailers = getattr(response, "trailers", None)
    if trailers:
        parts.append(_details("trailers", _rows(header_pairs(trailers)), open_=True))
    exc = getattr(response, "app_exception", None)
    if exc is not None:
        parts.append(f'<div>{_badge("the app raised", STATUS_COLOURS["server-error"])} '
                     f"<code>{escape(type(exc).__name__)}: {escape(str(exc))}</code> "
                     f"{_muted('(response.app_exception)')}</div>")
    trace = getattr(response, "trace", None)
    parts.append(_blocked_html(trace))
    if trace is not None:
        parts.append(_details(f"ASGI trace: {messages(len(trace))}, {escape(outcome_text(trace))}",
                              _trace_body(trace)))
    return _wrap("response", "".join(parts))


# -- traces ----------------------------------------------------------------------------------------


def _direction_cell(direction: str) -> str:
    if direction == "receive":
        return f'<td style="{CELL};color:{CLIENT_HEX};white-space:nowrap">client → app</td>'
    return f'<td style="{CELL};color:{APP_HEX};white-space:nowrap">client ← app</td>'


def _trace_table(trace: Any) -> str:
    rows = []
    events = list(trace)
    call = call_text(trace)
    if call is not None:
        rows.append(
            f'<tr style="background:rgba({CLIENT_RGB},.07)">'
            f'<td style="{TIME_CELL}">{escape(offset(0.0))}</td>{_direction_cell("receive")}'
            f'<td colspan="2" style="{CODE_CELL}">{escape(call)}</td></tr>'
        )
    for event in events[:MAX_EVENTS]:
        rgb = CLIENT_RGB if event.direction == "receive" else APP_RGB
        rows.append(
            f'<tr style="background:rgba({rgb},.07)">'
            f'<td style="{TIME_CELL}">{escape(offset(event.offset))}</td>'
            f"{_direction_cell(event.direction)}"
            f'<td style="{CODE_CELL}">{escape(str(event.message.get("type", "?")))}</td>'
            f'<td style="{CODE_CELL}">{escape(message_details(event.message))}</td></tr>'
        )
    if len(events) > MAX_EVENTS:
        more = _muted(f"… {len(events) - MAX_EVENTS:,} more messages (the Trace object has them all)")
        rows.append(f'<tr><td colspan="4" style="{CELL}">{more}</td></tr>')
    end = escape(offset(trace.outcome_offset)) if trace.outcome_offset is not None else ""
    rows.append(f'<tr><td style="{TIME_CELL}">{end}</td>'
                f'<td colspan="3" style="{CELL}"><em>{escape(outcome_text(trace))}</em></td></tr>')
    head = "".join(f'<th style="{CELL}">{name}</th>' for name in ("offset", "direction", "message", "fields"))
    return f'<table style="{TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _scope_html(scope: dict[str, Any]) -> str:
    pairs = []
    for key, value in scope.items():
        if key == "headers" and isinstance(value, (list, tuple)):
            text = "\n".join(f"{n}: {v}" for n, v in header_pairs(value))
        else:
            text = value_text(value, 200)
        pairs.append((str(key), text))
    return _details("scope", _rows(pairs))


def _trace_body(trace: Any) -> str:
    diagram = sequence_img(trace)
    table = _trace_table(trace)
    layout = "display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start"
    return (f'<div style="{layout}"><div>{diagram}</div><div>{table}</div></div>'
            f"{_scope_html(trace.scope)}")


def trace_html(trace: Any) -> str:
    seen = "" if getattr(trace, "seen_from", "app") == "app" else f", as the {trace.seen_from} saw it"
    head = (f'<div style="{HEAD}">ASGI trace of <code>{escape(trace_title(trace))}</code> '
            f"{_muted(f'{messages(len(trace))}{seen}')}</div>")
    return _wrap("trace", head + _blocked_html(trace) + _trace_body(trace))


# -- the sequence diagram --------------------------------------------------------------------------

#: The lanes are far enough apart for a label of LABEL_CHARS monospace characters (7.2 px each at 12 px).
SVG_WIDTH = 560
CLIENT_X = 55
APP_X = 505
LABEL_CHARS = 58
ROW = 30
TOP = 48


def _svg_text(x: float, y: float, text: str, fill: str, anchor: str = "middle", weight: str = "normal"
              ) -> str:
    return (f'<text x="{x:g}" y="{y:g}" fill="{fill}" text-anchor="{anchor}" font-weight="{weight}" '
            f'font-family="monospace" font-size="12">{escape(text)}</text>')


def sequence_svg(trace: Any) -> str:
    """The trace as a sequence diagram: client and app lanes, one arrow per message.

    No time offsets and no header values in it (a live server's ``date`` changes): the picture is
    stored base64-encoded, where no sanitize rule can reach.
    """
    call = call_text(trace)
    arrows: list[tuple[str, str]] = [("receive", "app(scope, …) " + trace_title(trace))] if call else []
    for event in list(trace)[:MAX_DIAGRAM_EVENTS]:
        label = str(event.message.get("type", "?"))
        arrows.append((event.direction, f"{label} {message_details(event.message, limit=24, header_values=False)}"))
    more = len(trace) - (len(arrows) - (1 if call else 0))
    height = TOP + ROW * (len(arrows) + 1 + (1 if more else 0)) + 10
    lane = "rgba(127,127,127,.6)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}" '
        f'viewBox="0 0 {SVG_WIDTH} {height}">',
        f'<rect x="{CLIENT_X - 45}" y="6" width="90" height="24" rx="5" fill="rgba({CLIENT_RGB},.15)" '
        f'stroke="{CLIENT_HEX}"/>',
        f'<rect x="{APP_X - 45}" y="6" width="90" height="24" rx="5" fill="rgba({APP_RGB},.15)" '
        f'stroke="{APP_HEX}"/>',
        _svg_text(CLIENT_X, 22, "client", CLIENT_HEX, weight="bold"),
        _svg_text(APP_X, 22, "app", APP_HEX, weight="bold"),
        *(f'<line x1="{x}" y1="30" x2="{x}" y2="{height - 6}" stroke="{lane}" stroke-dasharray="4 3"/>'
          for x in (CLIENT_X, APP_X)),
    ]
    for index, (direction, text) in enumerate(arrows):
        y = TOP + ROW * index + 12
        to_app = direction == "receive"
        colour = CLIENT_HEX if to_app else APP_HEX
        start, end = (CLIENT_X, APP_X) if to_app else (APP_X, CLIENT_X)
        tip = end - 8 if to_app else end + 8
        parts.append(f'<line x1="{start}" y1="{y}" x2="{tip}" y2="{y}" stroke="{colour}" '
                     'stroke-width="1.6"/>')
        parts.append(f'<polygon points="{end},{y} {tip},{y - 4} {tip},{y + 4}" fill="{colour}"/>')
        parts.append(_svg_text((CLIENT_X + APP_X) / 2, y - 7, shorten(text, LABEL_CHARS), colour))
    y = TOP + ROW * len(arrows) + 12
    if more:
        parts.append(_svg_text((CLIENT_X + APP_X) / 2, y, f"… {more:,} more messages", lane))
        y += ROW
    parts.append(_svg_text(APP_X, y, outcome_text(trace).removeprefix("the app "), APP_HEX, anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def sequence_img(trace: Any) -> str:
    svg = sequence_svg(trace)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = f"sequence diagram: {messages(len(trace), 'ASGI messages')} between client and app"
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}" style="max-width:100%">'


# -- WebSocket sessions ----------------------------------------------------------------------------


def session_head(session: Any) -> str:
    closed_rgb = STATUS_COLOURS["success" if session.close_code in (1000, None) or not session.closed
                                else "client-error"]
    return (f"<code>WebSocket {escape(session.url)}</code> "
            f"{_badge(session_state(session), closed_rgb if session.closed else CLIENT_RGB)}")


def session_html(session: Any) -> str:
    parts = [f'<div style="{HEAD}">{session_head(session)}</div>']
    if session.accepted_subprotocol:
        protocol = escape(session.accepted_subprotocol)
        parts.append(f"<div>{_muted('subprotocol:')} <code>{protocol}</code></div>")
    trace = getattr(session, "trace", None)
    transcript = session.transcript if trace is not None else []
    rows = []
    for line in transcript[:MAX_EVENTS]:
        data = f"{line.kind} {transcript_data(line.kind, line.data)}".rstrip()
        time_cell = f'<td style="{TIME_CELL}">{escape(offset(line.offset))}</td>'
        if line.sender == "client":
            rows.append(f'<tr>{time_cell}<td style="{CODE_CELL};background:rgba({CLIENT_RGB},.10)">'
                        f'{escape(data)}</td><td style="{CELL};color:{CLIENT_HEX}">→</td>'
                        f'<td style="{CELL}"></td></tr>')
        else:
            rows.append(f'<tr>{time_cell}<td style="{CELL}"></td><td style="{CELL};color:{APP_HEX}">←</td>'
                        f'<td style="{CODE_CELL};background:rgba({APP_RGB},.10)">{escape(data)}</td></tr>')
    if len(transcript) > MAX_EVENTS:
        rows.append(f'<tr><td colspan="4" style="{CELL}">'
                    + _muted(f"… {len(transcript) - MAX_EVENTS:,} more lines (session.transcript)")
                    + "</td></tr>")
    head = (f'<tr><th style="{CELL}">offset</th><th style="{CELL};color:{CLIENT_HEX}">client sent</th>'
            f'<th style="{CELL}"></th><th style="{CELL};color:{APP_HEX}">app sent</th></tr>')
    parts.append(f'<table style="{TABLE}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>')
    if session.closed:
        reason = escape(repr(session.close_reason)) if session.close_reason else "no reason"
        parts.append(f"<div><strong>closed by the {escape(str(session.closed_by))}</strong>: "
                     f"{escape(close_code_name(session.close_code))}, {reason}</div>")
    parts.append(_blocked_html(trace))
    if trace is not None:
        parts.append(_details(f"ASGI trace: {messages(len(trace))}, {escape(outcome_text(trace))}",
                              _trace_body(trace)))
    return _wrap("session", "".join(parts))


# -- clients ---------------------------------------------------------------------------------------


def client_html(client: Any) -> str:
    transport = client.transport.describe() if hasattr(client, "transport") else repr(client.app)
    parts = [f'<div style="{HEAD}">Client for <code>{escape(transport)}</code> '
             f"{_muted(f'at {client.base_url}')}</div>"]
    facts = [("timeout", "none (waits forever)" if client.timeout is None else f"{client.timeout:g} s")]
    state = client.state
    if state:
        facts.append(("lifespan state", ", ".join(sorted(map(str, state)))))
    parts.append(_rows(facts, mono=False))
    history = list(client.history)
    if not history:
        parts.append(f"<div>{_muted('history: nothing sent yet')}</div>")
    else:
        rows = []
        for item in history:
            if hasattr(item, "status_code"):
                rows.append(f'<tr><td style="{CELL}">{_response_head(item)}</td></tr>')
            else:
                rows.append(f'<tr><td style="{CELL}">{session_head(item)}</td></tr>')
        parts.append(_details(f"history ({len(history)}, newest last)",
                              f'<table style="{TABLE}"><tbody>{"".join(rows)}</tbody></table>', open_=True))
    return _wrap("client", "".join(parts))


# -- endpoint classes ------------------------------------------------------------------------------


def endpoint_html(cls: type) -> str:
    kind = endpoint_kind(cls)
    if kind is None:
        raise TypeError(f"{cls!r} is not an HTTPEndpoint or WebSocketEndpoint subclass")
    base = "HTTPEndpoint" if kind == "http" else "WebSocketEndpoint"
    title = f"<code>{escape(cls.__qualname__)}</code> {_muted(f'{base}, module {cls.__module__}')}"
    parts = [f'<div style="{HEAD}">{title}</div>']
    doc = class_doc(cls)
    if doc:
        parts.append(f"<div><em>{escape(doc)}</em></div>")
    if kind == "http":
        allowed = allowed_methods(cls)
        badges = " ".join(_badge(method, STATUS_COLOURS["success"]) for method in allowed)
        parts.append(f"<div>allows: {badges or escape('nothing (every method gets 405)')}</div>")
        handlers = http_handlers(cls)
    else:
        encoding = getattr(cls, "encoding", None)
        meaning = "text or bytes, passed on as they come" if encoding is None else (
            f"{encoding} messages; anything else closes with 1003")
        parts.append(f"<div>encoding: <code>{escape(repr(encoding))}</code> {_muted(meaning)}</div>")
        handlers = websocket_handlers(cls)
    if handlers:
        rows = []
        for handler in handlers:
            where = "" if handler.defined_in == cls.__qualname__ else f"from {handler.defined_in}"
            rows.append(
                f'<tr><td style="{CODE_CELL}">{escape(handler.name + handler.signature)}</td>'
                f'<td style="{CELL}">{escape(handler.serves)}</td>'
                f'<td style="{CELL}">{escape(handler.kind)}</td>'
                f'<td style="{CELL}">{escape(handler.doc)}{_muted(" " + where) if where else ""}</td></tr>'
            )
        head = "".join(f'<th style="{CELL}">{name}</th>' for name in ("handler", "answers", "runs", ""))
        parts.append(f'<table style="{TABLE}"><thead><tr>{head}</tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>')
    else:
        parts.append(f"<div>{_muted('handlers: none of its own (the defaults apply)')}</div>")
    return _wrap("endpoint", "".join(parts))
