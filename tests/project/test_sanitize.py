"""notebooks/sanitize.cfg: every rule is well-formed (nbval drops a malformed one silently), and the
outputs of two runs with different timings and addresses compare equal once sanitised."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from playground import Client, Response, WebSocketSession
from playground.display import response_html, response_text, session_html, session_text, trace_html, trace_text
from playground.display.waterfall import waterfall_html, waterfall_text
from playground.trace import TraceEvent

pytestmark = pytest.mark.anyio

CONFIG = Path(__file__).parents[2] / "notebooks" / "sanitize.cfg"


def rules() -> list[tuple[str, str]]:
    return get_sanitize_patterns(CONFIG.read_text(encoding="utf-8"))


def sanitize(text: str) -> str:
    # What nbval does with each output string.
    for regex, replace in rules():
        text = re.sub(regex, replace, text)
    return text


def test_every_rule_is_well_formed() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    pairs = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line == line.rstrip(), f"line {index + 1} has trailing spaces"
        if not line or line.startswith("#"):
            index += 1
            continue
        assert line.startswith("regex: ") and not line.startswith("regex:  "), f"line {index + 1}: {line!r}"
        following = lines[index + 1] if index + 1 < len(lines) else ""
        assert following.startswith("replace: ") and not following.startswith("replace:  "), (
            f"line {index + 2} must be 'replace: ...' right after the regex"
        )
        assert following == following.rstrip()
        re.compile(line.removeprefix("regex: "))
        pairs += 1
        index += 2
    loaded = rules()
    assert len(loaded) == pairs >= 3  # nbval reads exactly the rules written
    assert len({regex for regex, _ in loaded}) == len(loaded)  # nbval keys rules by regex: no duplicates


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("GET / → 200 OK  (0.180 ms)", "GET / → 200 OK  (##.### ms)"),
        ("      +12.345 ms  client → app", "##.### ms  client → app"),
        ("        +1.000 ms  client → app", "##.### ms  client → app"),
        ("<td>+1234.500 ms</td>", "<td>##.### ms</td>"),
        ("<function f at 0x7f3a2b1c0d90>", "<function f at 0xADDRESS>"),
        ("http://127.0.0.1:54321/", "http://127.0.0.1:PORT/"),
        ("('127.0.0.1', 40123)", "('127.0.0.1', PORT)"),
        ("(&#x27;127.0.0.1&#x27;, 40123)", "(&#x27;127.0.0.1&#x27;, PORT)"),
        ("date: Tue, 05 Mar 2024 10:11:12 GMT", "date: DAY, DD MON YYYY HH:MM:SS GMT"),
        ("status=200 (27 bytes) 0x10 1.5 ms", "status=200 (27 bytes) 0x10 1.5 ms"),  # left alone
        ('<div style="margin-left:3.25%;width:96.75%;min-width:2px">',
         '<div style="margin-left:0%;width:100%;min-width:2px">'),
        ('<img style="max-width:100%"><td style="min-width:320px">',  # left alone
         '<img style="max-width:100%"><td style="min-width:320px">'),
        ("GET / → 200 OK ▕ ██   ▏  2 messages", "GET / → 200 OK ▕" + "█" * 40 + "▏  2 messages"),
    ],
)
def test_each_rule_does_what_it_says(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


def new_app() -> Starlette:
    # A new app object each run: its address (in the scope's "app") differs between runs.
    return Starlette(routes=[Route("/hello", hello), WebSocketRoute("/ws", echo)])


def stretch_time(obj: Response | WebSocketSession, factor: float) -> None:
    """Make a run look slower, as a loaded CI machine would: offsets and elapsed times grow."""
    trace = obj.trace
    assert trace is not None
    trace.events[:] = [TraceEvent(e.offset * factor + 0.5, e.direction, e.message) for e in trace.events]
    trace.outcome_offset = (trace.outcome_offset or 0) * factor + 0.5
    if isinstance(obj, Response):
        obj.elapsed = datetime.timedelta(seconds=obj.elapsed.total_seconds() * factor + 1.5)


async def one_run(factor: float) -> list[str]:
    client = Client(new_app())
    response = await client.get("/hello?x=1")
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hi")
        await ws.receive_text()
    stretch_time(response, factor)
    stretch_time(ws, factor)
    assert response.trace is not None
    return [
        response_text(response), response_html(response), trace_text(response.trace), trace_html(response.trace),
        session_text(ws), session_html(ws), waterfall_text(client.history), waterfall_html(client.history),
    ]


async def test_two_runs_with_different_timings_compare_equal_after_sanitising() -> None:
    first, second = await one_run(1.0), await one_run(1000.0)
    for a, b in zip(first, second, strict=True):
        assert a != b  # the raw outputs do differ: timings, and the app's address in the scope
        assert sanitize(a) == sanitize(b)
    html = sanitize(first[3])
    assert "##.### ms" in html and "0xADDRESS" in html  # both kinds of rule were needed
    assert "http.response.start" in html and "200" in html  # and the facts survive
