"""The notebook displays of responses, traces, WebSocket sessions, clients and endpoint classes.

``common`` works out and words what the displays say; ``text`` lays it out as lines, ``html`` as markup
that survives JupyterLab's sanitiser, ``svg`` draws a trace as a sequence diagram (``mermaid``: the
same picture as Mermaid text), ``waterfall`` a client's history; ``formatters`` teaches IPython to show
endpoint classes. Each object's ``_repr_html_`` and ``_repr_pretty_`` reach the displays through this
package, which loads a module only when one of its names is asked for: ``import playground`` loads
``formatters`` alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .html import client_html, endpoint_html, response_html, session_html, trace_html
    from .svg import sequence_svg
    from .text import client_text, endpoint_text, response_text, session_text, trace_text

#: Each name and the module that makes it.
_HOMES = {
    "client_html": "html",
    "client_text": "text",
    "endpoint_html": "html",
    "endpoint_text": "text",
    "response_html": "html",
    "response_text": "text",
    "sequence_svg": "svg",
    "session_html": "html",
    "session_text": "text",
    "trace_html": "html",
    "trace_text": "text",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
