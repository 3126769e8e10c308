"""A trace: every ASGI message of one exchange, in order, with its time offset.

Plain data, cheap enough to stay on: recording is one tuple appended per message. Displays read it;
nothing in it drives traffic.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

__all__ = ["Trace", "TraceEvent"]

#: ``receive``: the app got this message from ``receive()`` (client → app);
#: ``send``: the app passed it to ``send()`` (app → client).
Direction = Literal["receive", "send"]


class TraceEvent(NamedTuple):
    offset: float  # seconds since the trace began
    direction: Direction
    message: dict[str, Any]


class Trace:
    """The scope, the messages both ways, and how the app's call ended."""

    __slots__ = ("_events", "_recorded", "blocks", "outcome", "outcome_offset", "scope", "seen_from", "started_at")

    def __init__(self, scope: dict[str, Any], seen_from: str = "app") -> None:
        self.started_at = time.perf_counter()  # the perf_counter() every offset counts from
        self.scope = scope
        # Recorded flat, offset, direction and message one after another, and turned into TraceEvents
        # when ``events`` is first read: the garbage collector tracks every tuple that holds a dict,
        # and with thousands of sessions open, most never displayed, each of their messages would be
        # one more object in every collection. A message dict of strings or bytes is not tracked.
        self._recorded: list[Any] | None = []
        self._events: list[TraceEvent] | None = None
        #: "running", "returned", "raised <Type>", "cancelled", "stopped" (it blocked the event loop)
        self.outcome = "running"
        self.outcome_offset: float | None = None
        #: "app": recorded at the app's receive/send (in-process); "client": what a network client sees.
        self.seen_from = seen_from
        #: the times the app blocked the event loop while the client waited (``watchdog.Block``)
        self.blocks: tuple[Any, ...] = ()

    @property
    def events(self) -> list[TraceEvent]:
        """Every message so far, in order (the same list each time; later messages are added to it)."""
        if self._events is None:
            flat = self._recorded or []
            self._events = [TraceEvent(*flat[i:i + 3]) for i in range(0, len(flat), 3)]
            self._recorded = None
        return self._events

    def record(self, direction: Direction, message: dict[str, Any]) -> None:
        offset = time.perf_counter() - self.started_at
        if self._recorded is not None:
            self._recorded += (offset, direction, message)
        else:
            self.events.append(TraceEvent(offset, direction, message))

    def finish(self, outcome: str) -> None:
        if self.outcome == "running":
            self.outcome = outcome
            self.outcome_offset = time.perf_counter() - self.started_at

    @property
    def duration(self) -> float:
        """Seconds from the first to the last thing recorded."""
        if self.outcome_offset is not None:
            return self.outcome_offset
        return self.events[-1].offset if self.events else 0.0

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events) if self._recorded is None else len(self._recorded) // 3

    def __getitem__(self, index: int) -> TraceEvent:
        return self.events[index]

    @property
    def types(self) -> list[str]:
        """The message types in order, e.g. ``['http.request', 'http.response.start', ...]``."""
        return [event.message["type"] for event in self.events]

    def __repr__(self) -> str:
        kind, path = self.scope.get("type"), self.scope.get("path")
        return f"<Trace {kind} {path!r}: {len(self.events)} messages, {self.outcome}>"

    def mermaid(self) -> Any:
        """The messages as a Mermaid ``sequenceDiagram`` (a str; a notebook cell shows it drawn)."""
        from .display.mermaid import sequence_diagram

        return sequence_diagram(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        # Added to the HTML and text displays below (IPython asks both): where the HTML is shown,
        # JupyterLab ranks it first, and other front ends may draw the diagram.
        from .display.mermaid import MIME_TYPE, sequence_diagram

        return {MIME_TYPE: str(sequence_diagram(self))}

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .display import trace_text

        printer.text(trace_text(self))

    def _repr_html_(self) -> str:
        from .display import trace_html

        return trace_html(self)
