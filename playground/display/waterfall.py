"""A client's history as a waterfall: every exchange a bar on one time axis, as a browser's network panel.

A row per exchange: when it started, how long it took, the request and its status, and a bar from its
start to its end. A WebSocket session is a span with a tick for each message (client's in blue, the
app's in orange). The time axis runs from the first exchange's start to the last one's end.

Like the other displays it reads well sanitised: the bars are plain ``div``s placed with
``margin-left`` and ``width`` in percent (allow-listed), in translucent literal colours for light and
dark themes; every fact a bar shows is also written beside it. Bar geometry is written as
``12.34%`` and bar text as ``▕...▏`` so that ``notebooks/sanitize.cfg`` can even it out in stored outputs.
"""

from __future__ import annotations

from html import escape
from typing import Any, NamedTuple

from .common import (
    APP_HEX,
    CLIENT_HEX,
    CLIENT_RGB,
    milliseconds,
    offset,
    request_target,
    scope_target,
    session_state,
    shorten,
    status_family,
    status_line,
)
from .html import CELL, HEAD, STATUS_COLOURS, TABLE, TIME_CELL, badge, muted, wrap

__all__ = ["Row", "rows_of", "waterfall_html", "waterfall_text"]

#: The width of the bar column: in pixels (HTML) and characters (text).
BAR_PX = 220
BAR_CHARS = 40
LABEL_CHARS = 48
STATUS_CHARS = 28
#: A tick takes no room of its own (negative right margin), so each tick's offset is exact.
TICK = "width:2px;margin-right:-2px;height:12px;flex:none"
#: More ticks than this in one span are not drawn one by one (the count is still written).
MAX_TICKS = 200


class Row(NamedTuple):
    kind: str  # "http" or "websocket"
    start: float  # seconds after the first exchange started
    duration: float
    label: str  # "GET /path" or "WebSocket ws://..."
    status: str  # "200 OK", or the session's state
    rgb: str  # the bar's colour
    ticks: list[tuple[float, str]]  # WebSocket messages: offset within the span, "client" or "app"


def rows_of(history: Any) -> list[Row]:
    """One row per exchange that has a trace, in the order they started (a history is in the order they
    ended), on the time axis of the earliest."""
    items = sorted((item for item in history if getattr(item, "trace", None) is not None),
                   key=lambda item: item.trace.started_at)
    if not items:
        return []
    origin = min(item.trace.started_at for item in items)
    rows = []
    for item in items:
        trace = item.trace
        start = trace.started_at - origin
        if hasattr(item, "status_code"):
            label = f"{item.request.method} {request_target(item.request)}"
            rows.append(Row("http", start, trace.duration, label, status_line(item),
                            STATUS_COLOURS[status_family(item.status_code)], []))
        else:
            ticks = [(line.offset, line.sender) for line in item.transcript if line.kind in ("text", "bytes")]
            # The path, as for a request (a history is one client's: the host is the same throughout).
            label = f"WebSocket {scope_target(trace.scope)}"
            rows.append(Row("websocket", start, trace.duration, label, _session_status(item), CLIENT_RGB, ticks))
    return rows


def _session_status(session: Any) -> str:
    """A session's state, short enough for a column: ``closed 1000``."""
    if session.closed:
        return f"closed {session.close_code}"
    return session_state(session)


def _messages(count: int) -> str:
    return f"{count:,} message{'' if count == 1 else 's'}"


def _span(rows: list[Row]) -> float:
    return max((row.start + row.duration for row in rows), default=0.0) or 1e-9


def _percent(part: float, whole: float) -> str:
    return f"{min(max(part / whole * 100, 0.0), 100.0):.2f}%"


def _bar_html(row: Row, total: float) -> str:
    ticks = []
    previous = 0.0
    for tick, sender in row.ticks[:MAX_TICKS]:
        # Each tick's margin is its distance from the one before, in percent of the span's width.
        gap = (tick - previous) / row.duration if row.duration else 0.0
        previous = tick
        colour = CLIENT_HEX if sender == "client" else APP_HEX
        ticks.append(f'<div style="margin-left:{gap * 100:.2f}%;{TICK};background:{colour}"></div>')
    shade = ".25" if row.kind == "websocket" else ".55"  # a span lighter, for its ticks to show
    bar = (f'<div style="display:flex;height:12px;margin-left:{_percent(row.start, total)};'
           f'width:{_percent(row.duration, total)};min-width:2px;border-radius:2px;'
           f'background:rgba({row.rgb},{shade});border:1px solid rgba({row.rgb},.8)">{"".join(ticks)}</div>')
    return f'<td style="{CELL};width:{BAR_PX}px;min-width:{BAR_PX}px;vertical-align:middle">{bar}</td>'


def waterfall_html(history: Any, *, title: str = "history") -> str:
    rows = rows_of(history)
    if not rows:
        return wrap("waterfall", f"<div>{muted(f'{title}: nothing sent yet')}</div>")
    total = _span(rows)
    head = (f'<div style="{HEAD}">{escape(title)}: {len(rows):,} exchange{"s" if len(rows) != 1 else ""} '
            f"{muted(f'over {milliseconds(total)}, oldest first')}</div>")
    cells = []
    for row in rows:
        messages = f" · {_messages(len(row.ticks))}" if row.ticks else ""
        cells.append(
            f'<tr><td style="{TIME_CELL}">{escape(offset(row.start))}</td>'
            f'<td style="{TIME_CELL}">{escape(milliseconds(row.duration))}</td>'
            f'<td style="{CELL};font-family:monospace;white-space:nowrap">{escape(shorten(row.label, 60))}</td>'
            f'<td style="{CELL};white-space:nowrap">{badge(row.status, row.rgb)}{muted(messages)}</td>'
            f"{_bar_html(row, total)}</tr>"
        )
    axis = f"0 → {milliseconds(total)}"
    header = "".join(f'<th style="{CELL}">{name}</th>' for name in ("start", "took", "exchange", "status"))
    header += f'<th style="{CELL}">{escape(axis)}</th>'
    legend = (f'<div>{muted("bars: start to end on one time axis; WebSocket ticks:")} '
              f'<span style="color:{CLIENT_HEX}">client sent</span> · '
              f'<span style="color:{APP_HEX}">app sent</span></div>')
    table = f'<table style="{TABLE}"><thead><tr>{header}</tr></thead><tbody>{"".join(cells)}</tbody></table>'
    return wrap("waterfall", head + table + legend)


def _bar_text(row: Row, total: float) -> str:
    cells = [" "] * BAR_CHARS
    first = min(int(row.start / total * BAR_CHARS), BAR_CHARS - 1)
    last = max(first, min(int((row.start + row.duration) / total * BAR_CHARS + 0.999), BAR_CHARS) - 1)
    fill = "░" if row.kind == "websocket" else "█"
    for index in range(first, last + 1):
        cells[index] = fill
    for tick, _ in row.ticks[:MAX_TICKS]:
        index = min(int((row.start + tick) / total * BAR_CHARS), BAR_CHARS - 1)
        cells[index] = "┃"
    return "▕" + "".join(cells) + "▏"


def waterfall_text(history: Any, *, title: str = "history", indent: str = "  ") -> str:
    rows = rows_of(history)
    if not rows:
        return f"{title}: nothing sent yet"
    total = _span(rows)
    plural = "s" if len(rows) != 1 else ""
    lines = [f"{title}: {len(rows):,} exchange{plural} over {milliseconds(total)}, oldest first"]
    label_width = min(max(len(row.label) for row in rows), LABEL_CHARS)
    status_width = min(max(len(row.status) for row in rows), STATUS_CHARS)
    for row in rows:
        label = shorten(row.label, LABEL_CHARS)
        status = shorten(row.status, STATUS_CHARS)
        messages = f"  {_messages(len(row.ticks))}" if row.ticks else ""
        lines.append(f"{indent}{offset(row.start):>12} {milliseconds(row.duration):>12}  {label:<{label_width}}  "
                     f"{status:<{status_width}}  {_bar_text(row, total)}{messages}")
    return "\n".join(lines)
