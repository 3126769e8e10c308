"""The notebook displays of responses, traces, WebSocket sessions, clients and endpoint classes.

Each object's ``_repr_html_`` and ``_repr_pretty_`` call these lazily, so ``import playground`` does
not pay for them. Text lives in ``display_text``, HTML in ``display_html``, what both share in
``display_common``; ``display_formatters`` teaches IPython to show endpoint classes.
"""

from __future__ import annotations

from .html import client_html, endpoint_html, response_html, sequence_svg, session_html, trace_html
from .text import client_text, endpoint_text, response_text, session_text, trace_text

__all__ = [
    "client_html",
    "client_text",
    "endpoint_html",
    "endpoint_text",
    "response_html",
    "response_text",
    "sequence_svg",
    "session_html",
    "session_text",
    "trace_html",
    "trace_text",
]
