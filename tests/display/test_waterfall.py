"""A client's history as a waterfall: one time axis, a bar per exchange, WebSocket messages as ticks.

Checked here: the facts it writes, the geometry of the bars against the traces, escaping, and that the
HTML keeps to what JupyterLab's sanitiser lets through (``sanitiser.assert_sanitiser_proof``). How it
looks in JupyterLab, light and dark, is ``test_lab_display``'s.
"""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from apps import Echo
from IPython.lib.pretty import pretty
from sanitiser import assert_sanitiser_proof
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from playground import Client, HTTPEndpoint
from playground.display.waterfall import BAR_CHARS, rows_of, waterfall_html, waterfall_text

pytestmark = pytest.mark.anyio

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the apps and the tests time themselves with asyncio.sleep and gather


class Slow(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("wait", "0")))
        return PlainTextResponse("done", status_code=int(request.query_params.get("status", "200")))


class Bars(HTMLParser):
    """The bar divs of a waterfall (those with a margin-left and a width) and their ticks."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[tuple[float, float]] = []
        self.ticks: list[list[float]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = dict(attrs).get("style") or ""
        left = re.search(r"margin-left:([\d.]+)%", style)
        width = re.search(r"(?<![-\w])width:([\d.]+)%", style)
        if tag == "div" and left and width:
            self.bars.append((float(left.group(1)), float(width.group(1))))
            self.ticks.append([])
        elif tag == "div" and left and "margin-right:-2px" in style:
            self.ticks[-1].append(float(left.group(1)))


async def test_concurrent_requests_overlap_on_one_time_axis() -> None:
    client = Client(Slow)
    await client.get("/?wait=0")
    await asyncio.gather(client.get("/?wait=0.2"), client.get("/?wait=0.1&status=404"))

    rows = rows_of(client.history)
    assert [row.label for row in rows] == ["GET /?wait=0", "GET /?wait=0.2", "GET /?wait=0.1&status=404"]
    assert [row.status for row in rows] == ["200 OK", "200 OK", "404 Not Found"]
    first, slow, fast = rows
    assert first.start == 0.0 and slow.start >= first.start + first.duration
    assert slow.duration >= 0.2 and 0.1 <= fast.duration < slow.duration
    assert fast.start < slow.start + slow.duration  # they ran at the same time

    html = waterfall_html(client.history)
    assert client.history._repr_html_() == html  # what a notebook shows of client.history
    bars = Bars()
    bars.feed(html)
    assert len(bars.bars) == 3
    total = slow.start + slow.duration
    for (left, width), row in zip(bars.bars, rows, strict=True):
        assert left == pytest.approx(row.start / total * 100, abs=0.01)
        assert width == pytest.approx(row.duration / total * 100, abs=0.01)
    assert bars.bars[1][0] + bars.bars[1][1] == pytest.approx(100, abs=0.02)  # the slowest ends the axis
    assert "3 exchanges" in html and "404 Not Found" in html and "rgba(210,153,34" in html
    assert_sanitiser_proof(html)

    text = waterfall_text(client.history)
    lines = text.splitlines()
    assert lines[0].startswith("history: 3 exchanges over ")
    bar_texts = [re.search("▕(.*)▏", line).group(1) for line in lines[1:]]  # type: ignore[union-attr]
    assert all(len(bar) == BAR_CHARS for bar in bar_texts)
    assert bar_texts[1].rstrip().endswith("█") and len(bar_texts[1].rstrip()) == BAR_CHARS
    assert bar_texts[0].startswith("█") and bar_texts[2].strip().startswith("█")
    assert pretty(client.history) == text


async def test_a_websocket_session_is_a_span_with_a_tick_per_message() -> None:
    client = Client(Echo)
    async with client.websocket_connect("/ws") as ws:
        for word in ("one", "two"):
            await ws.send_text(word)
            await ws.receive_text()
            await asyncio.sleep(0.02)
    [row] = rows_of(client.history)
    assert row.kind == "websocket" and row.label == "WebSocket /ws"
    assert [sender for _, sender in row.ticks] == ["client", "app", "client", "app"]
    assert row.status == "closed 1000"

    bars = Bars()
    bars.feed(waterfall_html(client.history))
    [ticks] = bars.ticks
    # Each tick's margin is the distance from the one before, in percent of the span.
    positions = [sum(ticks[: i + 1]) for i in range(len(ticks))]
    expected = [offset / row.duration * 100 for offset, _ in row.ticks]
    assert positions == pytest.approx(expected, abs=0.05)
    assert "4 messages" in waterfall_text(client.history)
    assert waterfall_text(client.history).count("┃") >= 2


async def test_the_app_s_words_are_escaped_and_an_empty_history_says_so() -> None:
    empty = Client(Echo).history  # a new client's
    assert waterfall_text(empty) == "history: nothing sent yet"
    assert "nothing sent yet" in waterfall_html(empty)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000, "reason": EVIL})

    client = Client(app)
    async with client.websocket_connect("/ws") as ws:
        await ws.receive()
    ws.trace.scope["raw_path"] = EVIL.encode()  # httpx percent-encodes URLs; the display must not count on it
    html = waterfall_html(client.history)
    assert "<script" not in html.partition("<style>")[0] and "&lt;script&gt;" in html
    assert_sanitiser_proof(html)


async def test_history_keeps_its_length_and_is_still_a_deque() -> None:
    client = Client(Slow, history=2)
    for _ in range(3):
        await client.get("/")
    assert len(client.history) == 2 and client.history.maxlen == 2
    assert client.history[-1].status_code == 200
