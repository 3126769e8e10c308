"""The displays: what they say, that the app's text is escaped, and that the HTML survives JupyterLab's
sanitiser for untrusted notebooks (no script, no inline SVG, no style block needed, literal colours)."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from IPython.lib.pretty import pretty
from sanitiser import assert_sanitiser_proof
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.websockets import WebSocket

from playground import Client, HTTPEndpoint, WebSocketDisconnect, WebSocketEndpoint
from playground.display import (
    client_html,
    client_text,
    endpoint_html,
    endpoint_text,
    response_html,
    response_text,
    session_html,
    session_text,
    trace_html,
    trace_text,
)
from playground.display.common import MAX_EVENTS

pytestmark = pytest.mark.anyio

EVIL = "<script>alert('x')</script>"
MS = re.compile(r"\+?\d+\.\d{3} ms")


class Things(HTTPEndpoint):
    """A resource for the display tests."""

    async def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind")
        if kind == "long":
            return JSONResponse({"items": list(range(100))})
        if kind == "binary":
            return Response(bytes(range(256)) * 4, media_type="application/octet-stream")
        if kind == "evil":
            return PlainTextResponse(EVIL, headers={"x-evil": EVIL})
        if kind == "stream":
            async def chunks() -> AsyncIterator[bytes]:
                for n in range(3):
                    yield f"chunk {n}\n".encode()

            return StreamingResponse(chunks(), media_type="text/plain")
        if kind == "crash":
            raise ValueError("boom <b>")
        return JSONResponse({"hello": "world", "nested": {"a": [1, 2]}})

    def post(self, request: Request) -> Response:
        """Creates a thing."""
        return PlainTextResponse("created", status_code=201)

    async def put(self, request: Request) -> Response:
        return PlainTextResponse(await request.body())


class Chat(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        if data == "quit":
            await websocket.close(code=4000, reason="bye <now>")
        else:
            await websocket.send_text(f"echo {data}")


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with Client(Things) as client:
        yield client


# -- responses -----------------------------------------------------------------------------------------


async def test_response_text_and_html_say_it_all(client: Client) -> None:
    response = await client.get("/things?x=1&y=2")
    text = response_text(response)
    first = text.splitlines()[0]
    assert first.startswith("GET /things?x=1&y=2 → 200 OK  (") and MS.search(first)
    assert "content-type: application/json" in text
    assert '{\n  "hello": "world",\n  "nested": {\n    "a": [\n      1,' in text  # pretty-printed JSON
    assert "trace: 2 ASGI messages, the app returned" in text
    assert pretty(response) == text  # what IPython shows as text/plain

    html = response_html(response)
    assert "<code>GET /things?x=1&amp;y=2</code>" in html
    assert "200 OK" in html and MS.search(html)
    assert "<th" in html and "content-type" in html and "application/json" in html
    assert "&quot;hello&quot;: &quot;world&quot;" in html
    assert response._repr_html_() == html
    assert_sanitiser_proof(html)


async def test_long_json_body_is_folded(client: Client) -> None:
    response = await client.get("/?kind=long")
    text = response_text(response)
    assert "more lines, see response.text" in text
    assert "      99" not in text
    html = response_html(response)
    assert "<summary" in html and "the whole body" in html
    head, _, folded = html.partition("the whole body")
    assert "  99\n" not in head and "  99\n" in folded
    assert_sanitiser_proof(html)


async def test_binary_body_is_summarised_with_a_hex_preview(client: Client) -> None:
    response = await client.get("/?kind=binary")
    for shown in (response_text(response), response_html(response)):
        assert "binary, application/octet-stream, 1,024 bytes" in shown
        assert "00 01 02 03 04 05" in shown
        assert "(992 more bytes)" in shown
        assert "\x00" not in shown
    assert_sanitiser_proof(response_html(response))


async def test_everything_from_the_app_is_escaped(client: Client) -> None:
    response = await client.get("/?kind=evil")
    html = response_html(response)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html  # body and header, as text
    assert html.count("&lt;script&gt;") >= 3  # the body, the x-evil header, the trace's body field
    assert EVIL in response_text(response)
    assert_sanitiser_proof(html)


async def test_streamed_response_before_and_after_reading(client: Client) -> None:
    async with client.stream("GET", "/?kind=stream") as response:
        assert "(body not read yet: a stream)" in response_text(response)
        assert "(streaming)" in response_text(response).splitlines()[0]
        assert "streaming" in response_html(response)
        await response.aread()
    assert "chunk 2" in response_text(response)


async def test_an_app_error_kept_on_the_response_is_shown() -> None:
    response = await Client(Things, raise_app_exceptions=False).get("/?kind=crash")
    text = response_text(response)
    assert "500 Internal Server Error" in text
    assert "the app raised ValueError: boom <b> (kept on response.app_exception)" in text
    html = response_html(response)
    assert "ValueError: boom &lt;b&gt;" in html
    assert "raised ValueError" in html
    assert_sanitiser_proof(html)


# -- traces --------------------------------------------------------------------------------------------


async def test_trace_lists_both_directions_in_order_with_offsets(client: Client) -> None:
    response = await client.put("/", content=b"payload")
    trace = response.trace
    assert trace is not None
    text = trace_text(trace)
    lines = text.splitlines()
    assert lines[0] == "ASGI trace of http PUT /: 3 messages"
    # First the call that starts it, then every message in order.
    assert "+0.000 ms  client → app  app(scope, receive, send) with scope http PUT /" in lines[1]
    assert [line.split()[5] for line in lines[2:5]] == ["http.request", "http.response.start", "http.response.body"]
    assert "client → app" in lines[2] and "client ← app" in lines[3]
    assert all(MS.search(line) for line in lines[1:])
    assert lines[-1].endswith("the app returned")
    assert "body=b'payload' (7 bytes)" in lines[2]

    html = trace_html(trace)
    assert [m for m in re.findall(r"http\.(?:request|response\.start|response\.body)(?=<)", html)] == [
        "http.request", "http.response.start", "http.response.body"]
    assert html.count("client → app") == 2 and html.count("client ← app") == 2  # the call, then http.request
    assert "app(scope, receive, send) with scope http PUT /" in html
    assert "<details><summary" in html and ">scope</summary>" in html  # the scope starts folded
    assert "&#x27;method&#x27;" not in html and ">method</th>" in html
    assert "the app returned" in html
    assert pretty(trace) == text
    assert_sanitiser_proof(html)


async def test_sequence_diagram_is_an_svg_image_with_no_timings(client: Client) -> None:
    response = await client.get("/?kind=evil")
    html = trace_html(response.trace)
    [src] = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    svg = base64.b64decode(src).decode("utf-8")
    assert svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"")
    assert ">client</text>" in svg and ">app</text>" in svg
    assert svg.index("http.response.start") < svg.index("http.response.body")
    assert "<script" not in svg and "&lt;script" in svg  # the body in a label, escaped
    assert " ms" not in svg  # nothing a sanitize rule would have to reach inside base64
    assert " id=" not in svg
    assert "headers=[3]" in svg and "x-evil" not in svg  # header values (a live date) stay out of the picture
    # The same facts in text beside the picture.
    assert "http.response.start" in html.split("<img")[1]


async def test_trace_outcomes_raised_and_cancelled() -> None:
    crashed = await Client(Things, raise_app_exceptions=False).get("/?kind=crash")
    assert trace_text(crashed.trace).splitlines()[-1].endswith("the app raised ValueError")

    from playground.trace import Trace

    trace = Trace({"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b""})
    trace.finish("cancelled")
    assert trace_text(trace).splitlines()[-1].endswith("the app was cancelled")
    assert "the app was cancelled" in trace_html(trace)


def test_a_trace_seen_from_a_network_client_says_so() -> None:
    from playground.trace import Trace

    trace = Trace({"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b""},
                  seen_from="client")
    trace.record("send", {"type": "http.response.start", "status": 204, "headers": []})
    trace.finish("complete")
    text = trace_text(trace)
    assert text.splitlines()[0] == "ASGI trace of http GET /: 1 message, as the client saw it"
    assert text.splitlines()[-1].endswith("the exchange ended: complete")
    assert "as the client saw it" in trace_html(trace)


async def test_long_traces_are_cut_in_the_display() -> None:
    async def chatty(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(MAX_EVENTS + 50):
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    response = await Client(chatty).get("/")
    assert len(response.trace) == MAX_EVENTS + 52
    assert "… 52 more messages" in trace_text(response.trace)
    html = trace_html(response.trace)
    assert "… 52 more messages" in html and "more messages</text>" in base64.b64decode(
        re.findall(r"base64,([A-Za-z0-9+/=]+)", html)[0]).decode()


# -- WebSocket sessions ----------------------------------------------------------------------------


async def test_session_transcript_and_close() -> None:
    client = Client(Chat)
    async with client.websocket_connect("/chat") as ws:
        await ws.send_text("hi <b>")
        assert await ws.receive_text() == "echo hi <b>"
        await ws.send_text("quit")
        with pytest.raises(WebSocketDisconnect):
            await ws.receive_text()
    text = session_text(ws)
    lines = text.splitlines()
    assert lines[0] == "WebSocket ws://testserver/chat — closed by the app: 4000, reason 'bye <now>'"
    said = [line.split()[2:5] for line in lines[1:7]]
    assert said == [
        ["client", "→", "app"], ["client", "←", "app"], ["client", "→", "app"], ["client", "←", "app"],
        ["client", "→", "app"], ["client", "←", "app"],
    ]
    assert "text    'hi <b>'" in lines[3] and "text    'echo hi <b>'" in lines[4]
    assert "close   4000 'bye <now>'" in lines[6]
    assert "closed by the app: 4000, 'bye <now>'" in text
    assert pretty(ws) == text

    html = session_html(ws)
    assert "client sent" in html and "app sent" in html
    assert "text &#x27;hi &lt;b&gt;&#x27;" in html and "<b>" not in html
    assert "closed by the app</strong>: 4000, &#x27;bye &lt;now&gt;&#x27;" in html
    assert_sanitiser_proof(html)


# -- clients -------------------------------------------------------------------------------------------


async def test_client_shows_its_app_base_url_and_history(client: Client) -> None:
    assert "history: nothing sent yet" in client_text(client)
    await client.get("/one")
    await client.post("/two")
    chat = Client(Chat, base_url="http://example.org/api")
    async with chat.websocket_connect("/ws"):
        pass
    text = client_text(client)
    assert text.splitlines()[0] == "Client for Things at http://testserver"
    assert "timeout: 5 s" in text
    assert "history (2, newest last):" in text
    assert "GET /one → 200 OK" in text and "POST /two → 201 Created" in text
    assert text.index("GET /one") < text.index("POST /two")
    assert "WebSocket ws://example.org/api/ws — closed by the client: 1000 (normal closure)" in client_text(chat)
    html = client_html(client)
    assert "<code>Things</code>" in html and "http://testserver" in html and "201 Created" in html
    assert pretty(client) == text
    assert_sanitiser_proof(html)
    assert_sanitiser_proof(client_html(chat))


# -- endpoint classes -----------------------------------------------------------------------------------


def test_http_endpoint_class() -> None:
    text = endpoint_text(Things)
    assert text.splitlines()[0] == f"HTTPEndpoint Things (module {__name__})"
    assert "A resource for the display tests." in text
    assert "allows: GET, HEAD, POST, PUT" in text
    assert "get(self, request: 'Request') -> 'Response'  async → GET, HEAD" in text
    assert "post(self, request: 'Request') -> 'Response'  sync (runs in a worker thread) → POST" in text
    assert "Creates a thing." in text
    html = endpoint_html(Things)
    assert html.count(">GET<") == 1 and ">HEAD<" in html and ">POST<" in html
    assert "sync (runs in a worker thread)" in html
    assert_sanitiser_proof(html)


def test_websocket_endpoint_class() -> None:
    text = endpoint_text(Chat)
    assert "encoding: 'text' (text messages; anything else closes with 1003)" in text
    assert "on_receive(self, websocket: 'WebSocket', data: 'str') -> 'None'  async → each message" in text
    assert "on_connect" not in text  # only what the class itself changes

    class Plain(WebSocketEndpoint):
        pass

    assert "encoding: None (text or bytes, passed on as they come)" in endpoint_text(Plain)
    assert "none of its own" in endpoint_text(Plain)
    assert_sanitiser_proof(endpoint_html(Chat))


def test_inherited_handlers_say_where_they_come_from() -> None:
    class MoreThings(Things):
        async def delete(self, request: Request) -> Response:
            return Response(status_code=204)

    text = endpoint_text(MoreThings)
    assert "allows: GET, HEAD, POST, PUT, DELETE" in text
    assert "from Things" in text


def test_a_class_that_is_not_an_endpoint_is_refused() -> None:
    with pytest.raises(TypeError, match="not an HTTPEndpoint or WebSocketEndpoint"):
        endpoint_text(int)
    with pytest.raises(TypeError):
        endpoint_html(Client)


def test_starlettes_own_endpoint_classes_are_shown_too() -> None:
    from starlette.endpoints import HTTPEndpoint as StarletteHTTPEndpoint

    class Old(StarletteHTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse("old")

    assert "allows: GET, HEAD" in endpoint_text(Old)
