"""Showing endpoint classes in IPython.

IPython never calls ``_repr_html_`` on a class (only on instances), so an endpoint class gets its
display from formatters registered for ``type``: they answer for ``HTTPEndpoint`` and
``WebSocketEndpoint`` subclasses and hand every other class to whatever was registered before.
This module imports nothing from IPython (nor the displays, until a class is shown): ``import
playground`` loads it.
"""

from __future__ import annotations

import sys
from typing import Any

_MARK = "_playground_endpoint_formatter"


def _html_formatter(previous: Any) -> Any:
    def format_html(obj: Any) -> Any:
        from .common import endpoint_kind

        if endpoint_kind(obj) is not None:
            from .html import endpoint_html

            return endpoint_html(obj)
        return previous(obj) if previous is not None else None

    setattr(format_html, _MARK, previous)
    return format_html


def _text_formatter(previous: Any) -> Any:
    def format_text(obj: Any, printer: Any, cycle: bool) -> None:
        from .common import endpoint_kind

        if endpoint_kind(obj) is not None:
            from .text import endpoint_text

            printer.text(endpoint_text(obj))
        elif previous is not None:
            previous(obj, printer, cycle)
        else:
            printer.text(repr(obj))

    setattr(format_text, _MARK, previous)
    return format_text


def register(shell: Any) -> None:
    """Show endpoint classes with their own display in this shell (idempotent)."""
    formatters = shell.display_formatter.formatters
    for mime, make in (("text/html", _html_formatter), ("text/plain", _text_formatter)):
        formatter = formatters[mime]
        current = formatter.for_type(type)  # IPython's public lookup: the printer now used for classes
        if current is not None and hasattr(current, _MARK):
            continue
        formatter.for_type(type, make(current))


def unregister(shell: Any) -> None:
    formatters = shell.display_formatter.formatters
    for mime in ("text/html", "text/plain"):
        formatter = formatters[mime]
        current = formatter.for_type(type)
        if current is None or not hasattr(current, _MARK):
            continue
        previous = getattr(current, _MARK)
        if previous is None:
            formatter.pop(type, None)
        else:
            formatter.for_type(type, previous)


def register_in_running_ipython() -> None:
    """Called by ``import playground``: register only if IPython is already running, never import it."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        register(shell)
