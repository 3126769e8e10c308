"""The pytest plugin's traces report: when a test fails, what its playground clients exchanged.

While a test runs (setup, call and teardown), ``client.observer`` is set to a recorder that keeps,
per client, the last few exchanges it started (HTTP requests and WebSocket sessions). When one of
the test's phases fails, its report gets a "playground traces" section: each exchange's request
line, status and ASGI trace in text form. A test that uses no playground client costs one attribute
set and one reset, and gets no section.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from . import client as client_module

MODES = ("all", "failed", "off")
LAST = 5  # exchanges per client in a report
SECTION = "playground traces"
_recorder = pytest.StashKey["Recorder"]()


class Recorder:
    """Called by every playground client as it starts an exchange, from whichever thread runs it."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous  # the observer before this one (a test run inside a test: pytester)
        self.clients: dict[int, tuple[Any, deque[Any], list[int]]] = {}

    def __call__(self, client: Any, item: Any) -> None:
        entry = self.clients.get(id(client))
        if entry is None:
            entry = self.clients[id(client)] = (client, deque(maxlen=LAST), [0])
        entry[1].append(item)
        entry[2][0] += 1


def addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("playground")
    group.addoption(
        "--playground-traces", choices=MODES, default="failed", dest="playground_traces",
        help="add the last exchanges of the test's playground clients, with their ASGI traces, to the "
             "report of a test that failed (failed, the default), of every test that used one (all), or "
             "never (off)",
    )


def start(item: pytest.Item) -> None:
    if item.config.getoption("playground_traces") == "off":
        return
    recorder = Recorder(client_module.observer)
    item.stash[_recorder] = recorder
    client_module.observer = recorder


def report(item: pytest.Item, report: pytest.TestReport) -> None:
    recorder = item.stash.get(_recorder, None)
    if recorder is None:
        return
    if recorder.clients and (report.failed or (item.config.getoption("playground_traces") == "all"
                                               and report.when == "call")):
        report.sections.append((SECTION, section_text(recorder)))
    if report.when == "teardown":
        client_module.observer = recorder.previous
        del item.stash[_recorder]


def section_text(recorder: Recorder) -> str:
    from .display.text import INDENT, session_summary, trace_lines

    lines: list[str] = []
    for client, items, (count,) in recorder.clients.values():
        shown = f"the last {len(items)}" if count > len(items) else "all"
        lines.append(f"{client!r}: {count} exchange{'s' if count != 1 else ''}, {shown} below")
        for item in items:
            trace = getattr(item, "trace", None)
            if trace is not None:  # a WebSocket session
                lines.append(f"{INDENT}{session_summary(item)}")
            else:
                trace = item.extensions.get("playground.trace")
                lines.append(f"{INDENT}{_request_line(item, trace)}")
            if trace is not None:
                lines.extend(trace_lines(trace, indent=INDENT * 2))
    return "\n".join(lines)


def _request_line(request: Any, trace: Any) -> str:
    import httpx

    from .display.common import outcome_text, request_target

    line = f"{request.method} {request_target(request)}"
    if trace is None:
        return f"{line} → not sent (the call failed before the app was called)"
    for event in trace.events:
        if event.message.get("type") == "http.response.start":
            status = event.message.get("status")
            return f"{line} → {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    return f"{line} → no response: {outcome_text(trace)}"
