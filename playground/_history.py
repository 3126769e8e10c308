"""A client's history: its latest exchanges, newest last, shown as a waterfall on one time axis."""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["History"]


class History(deque[Any]):
    """A ``deque`` of responses and WebSocket sessions (``maxlen``: how many are kept).

    In a notebook it displays as a waterfall: when each exchange started and how long it took.
    """

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .display.waterfall import waterfall_text

        printer.text(waterfall_text(self))

    def _repr_html_(self) -> str:
        from .display.waterfall import waterfall_html

        return waterfall_html(self)
