"""A trace as a sequence diagram in SVG: client and app lanes, one arrow per ASGI message.

JupyterLab's sanitiser drops inline ``<svg>`` from an untrusted notebook, so the HTML display shows the
picture as a ``data:`` image (``sequence_img``), with the same facts in text beside it. The picture holds
no time offsets and no header values: it is stored base64-encoded, where no sanitize rule can reach.
The Mermaid form of the same picture is in ``mermaid``.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from .common import APP_HEX, APP_RGB, CLIENT_HEX, CLIENT_RGB, diagram, messages, shorten

__all__ = ["sequence_img", "sequence_svg"]

#: The lanes are far enough apart for a label of LABEL_CHARS monospace characters (7.2 px each at 12 px).
SVG_WIDTH = 560
CLIENT_X = 55
APP_X = 505
LABEL_CHARS = 58
ROW = 30
TOP = 48
LANE = "rgba(127,127,127,.6)"


def _text(x: float, y: float, text: str, fill: str, weight: str = "normal") -> str:
    return (f'<text x="{x:g}" y="{y:g}" fill="{fill}" text-anchor="middle" font-weight="{weight}" '
            f'font-family="monospace" font-size="12">{escape(text)}</text>')


def _box(x: int, rgb: str, colour: str) -> str:
    """The box at the top of a lane."""
    return f'<rect x="{x - 45}" y="6" width="90" height="24" rx="5" fill="rgba({rgb},.15)" stroke="{colour}"/>'


def sequence_svg(trace: Any) -> str:
    """The trace as a sequence diagram: client and app lanes, one arrow per message."""
    arrows, more, end = diagram(trace)
    height = TOP + ROW * (len(arrows) + 1 + (1 if more else 0)) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}" '
        f'viewBox="0 0 {SVG_WIDTH} {height}">',
        _box(CLIENT_X, CLIENT_RGB, CLIENT_HEX),
        _box(APP_X, APP_RGB, APP_HEX),
        _text(CLIENT_X, 22, "client", CLIENT_HEX, weight="bold"),
        _text(APP_X, 22, "app", APP_HEX, weight="bold"),
        *(f'<line x1="{x}" y1="30" x2="{x}" y2="{height - 6}" stroke="{LANE}" stroke-dasharray="4 3"/>'
          for x in (CLIENT_X, APP_X)),
    ]
    for index, (direction, text) in enumerate(arrows):
        y = TOP + ROW * index + 12
        to_app = direction == "receive"
        colour = CLIENT_HEX if to_app else APP_HEX
        start, stop = (CLIENT_X, APP_X) if to_app else (APP_X, CLIENT_X)
        tip = stop - 8 if to_app else stop + 8
        parts.append(f'<line x1="{start}" y1="{y}" x2="{tip}" y2="{y}" stroke="{colour}" '
                     'stroke-width="1.6"/>')
        parts.append(f'<polygon points="{stop},{y} {tip},{y - 4} {tip},{y + 4}" fill="{colour}"/>')
        parts.append(_text((CLIENT_X + APP_X) / 2, y - 7, shorten(text, LABEL_CHARS), colour))
    y = TOP + ROW * len(arrows) + 12
    if more:
        parts.append(_text((CLIENT_X + APP_X) / 2, y, f"… {more:,} more messages", LANE))
        y += ROW
    parts.append(_text(APP_X, y, end, APP_HEX))
    parts.append("</svg>")
    return "".join(parts)


def sequence_img(trace: Any) -> str:
    """The diagram as an ``<img>`` with a ``data:`` URL, which the sanitiser keeps."""
    data = base64.b64encode(sequence_svg(trace).encode("utf-8")).decode("ascii")
    alt = f"sequence diagram: {messages(len(trace), 'ASGI messages')} between client and app"
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}" style="max-width:100%">'
