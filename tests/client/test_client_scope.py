"""The scope the in-process Client builds is complete and honest, for HTTP and WebSocket alike."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from playground import Client

pytestmark = pytest.mark.anyio


class ScopeRecorder:
    """An ASGI app that keeps every connection scope it is called with and answers minimally."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")
        self.scopes.append(scope)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            await receive()  # websocket.connect
            subprotocols = scope["subprotocols"]
            await send({"type": "websocket.accept", "subprotocol": subprotocols[0] if subprotocols else None})
            await send({"type": "websocket.close", "code": 1000})

    @property
    def last(self) -> dict[str, Any]:
        return self.scopes[-1]


async def http_scope(url: str, **kwargs: Any) -> dict[str, Any]:
    app = ScopeRecorder()
    client_kwargs = {k: kwargs.pop(k) for k in ("base_url", "root_path", "client") if k in kwargs}
    await Client(app, **client_kwargs).get(url, **kwargs)
    return app.last


async def websocket_scope(url: str, **kwargs: Any) -> dict[str, Any]:
    app = ScopeRecorder()
    async with Client(app).websocket_connect(url, **kwargs) as ws:
        with contextlib.suppress(Exception):
            await ws.receive()
    return app.last


async def test_http_scope_is_complete() -> None:
    scope = await http_scope("/users/tom?page=2&q=a+b", headers={"X-Trace-ID": "7"})
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/users/tom"
    assert scope["raw_path"] == b"/users/tom"
    assert scope["query_string"] == b"page=2&q=a+b"
    assert scope["root_path"] == ""
    assert scope["client"] == ("127.0.0.1", 50000)
    assert scope["server"] == ("testserver", 80)
    assert set(scope["extensions"]) >= {"http.response.trailers", "http.response.debug"}
    assert "websocket.http.response" not in scope["extensions"]
    assert "state" not in scope  # no lifespan ran: no state, rather than a fake one


async def test_headers_are_lower_case_bytes_with_host() -> None:
    scope = await http_scope("/", headers={"X-Mixed-Case": "Value", "Accept": "text/html"})
    headers = scope["headers"]
    assert all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in headers)
    assert all(name == name.lower() for name, _ in headers)
    as_dict = dict(headers)
    assert as_dict[b"host"] == b"testserver"
    assert as_dict[b"x-mixed-case"] == b"Value"  # values keep their case
    assert as_dict[b"accept"] == b"text/html"


async def test_repeated_headers_stay_separate() -> None:
    scope = await http_scope("/", headers=[("X-Many", "1"), ("X-Many", "2")])
    assert [v for n, v in scope["headers"] if n == b"x-many"] == [b"1", b"2"]


async def test_path_is_percent_decoded_and_raw_path_is_not() -> None:
    scope = await http_scope("/caf%C3%A9/a%20b%2Fc?x=%20")
    assert scope["path"] == "/café/a b/c"
    assert scope["raw_path"] == b"/caf%C3%A9/a%20b%2Fc"
    assert scope["query_string"] == b"x=%20"


@pytest.mark.parametrize(
    ("base_url", "server", "scheme"),
    [
        ("http://testserver", ("testserver", 80), "http"),
        ("https://testserver", ("testserver", 443), "https"),
        ("http://example.org:8000", ("example.org", 8000), "http"),
        ("https://example.org:8443", ("example.org", 8443), "https"),
    ],
)
async def test_scheme_and_server_port(base_url: str, server: tuple[str, int], scheme: str) -> None:
    scope = await http_scope("/", base_url=base_url)
    assert scope["scheme"] == scheme
    assert scope["server"] == server
    assert isinstance(scope["server"][1], int)
    host = dict(scope["headers"])[b"host"].decode()
    assert host == (server[0] if server[1] in (80, 443) else f"{server[0]}:{server[1]}")


async def test_root_path_and_client_address() -> None:
    scope = await http_scope("/x", root_path="/api", client=("10.0.0.7", 1234))
    assert scope["root_path"] == "/api"
    assert scope["client"] == ("10.0.0.7", 1234)


async def test_root_path_reaches_starlette_urls() -> None:
    async def where(request: Request) -> Response:
        return PlainTextResponse(str(request.url_for("where")))

    app = Starlette(routes=[Route("/where", where, name="where")])
    response = await Client(app, root_path="/api").get("/api/where")
    assert response.text == "http://testserver/api/where"


@pytest.mark.parametrize(
    ("base_url", "scheme", "server"),
    [("http://testserver", "ws", ("testserver", 80)), ("https://secure.test", "wss", ("secure.test", 443)),
     ("http://h.test:9000", "ws", ("h.test", 9000))],
)
async def test_websocket_scope(base_url: str, scheme: str, server: tuple[str, int]) -> None:
    app = ScopeRecorder()
    async with Client(app, base_url=base_url).websocket_connect("/chat/r%C3%B6om?user=tom") as ws:
        await ws.receive()
    scope = app.last
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["scheme"] == scheme
    assert scope["server"] == server
    assert scope["path"] == "/chat/röom"
    assert scope["raw_path"] == b"/chat/r%C3%B6om"
    assert scope["query_string"] == b"user=tom"
    assert scope["root_path"] == ""
    assert scope["client"] == ("127.0.0.1", 50000)
    assert "websocket.http.response" in scope["extensions"]
    assert "method" not in scope
    headers = dict(scope["headers"])
    assert headers[b"host"] == server[0].encode() + (b"" if server[1] in (80, 443) else b":%d" % server[1])
    assert headers[b"upgrade"] == b"websocket"
    assert headers[b"sec-websocket-version"] == b"13"
    assert all(name == name.lower() for name, _ in scope["headers"])


async def test_websocket_absolute_ws_url() -> None:
    scope = await websocket_scope("ws://elsewhere.test:7000/feed")
    assert scope["scheme"] == "ws"
    assert scope["server"] == ("elsewhere.test", 7000)
    scope = await websocket_scope("wss://elsewhere.test/feed")
    assert scope["scheme"] == "wss"
    assert scope["server"] == ("elsewhere.test", 443)


async def test_subprotocols_parsed_without_stray_spaces() -> None:
    scope = await websocket_scope("/ws", subprotocols=["wamp", "p2", "graphql-ws"])
    assert scope["subprotocols"] == ["wamp", "p2", "graphql-ws"]
    assert dict(scope["headers"])[b"sec-websocket-protocol"] == b"wamp, p2, graphql-ws"
    # A header written by hand, with odd spacing and empty items, parses the same way. (Not at either
    # end: no HTTP client may send that, and the client refuses it, as test_edge_cases checks.)
    scope = await websocket_scope("/ws", headers={"Sec-WebSocket-Protocol": "a ,b,, c"})
    assert scope["subprotocols"] == ["a", "b", "c"]
    scope = await websocket_scope("/ws")
    assert scope["subprotocols"] == []


async def test_websocket_headers_are_passed() -> None:
    scope = await websocket_scope("/ws", headers={"Authorization": "Bearer x", "Origin": "http://testserver"})
    headers = dict(scope["headers"])
    assert headers[b"authorization"] == b"Bearer x"
    assert headers[b"origin"] == b"http://testserver"


def lifespan_app(recorder: ScopeRecorder) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"]["db"] = {"users": ["tom"]}
            scope["state"]["counter"] = 0
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        # A request replacing a key must not leak into the next request's state.
        scope["state"]["counter"] += 1
        await recorder(scope, receive, send)

    return app


async def test_state_from_lifespan_is_a_copy_per_request() -> None:
    recorder = ScopeRecorder()
    async with Client(lifespan_app(recorder)) as client:
        await client.get("/")
        await client.get("/")
        async with client.websocket_connect("/ws") as ws:
            await ws.receive()
        assert client.state is not None and client.state["counter"] == 0
    http1, http2, websocket = recorder.scopes
    assert http1["state"]["counter"] == 1 and http2["state"]["counter"] == 1 and websocket["state"]["counter"] == 1
    assert http1["state"] is not http2["state"]
    # A shallow copy, as uvicorn makes: the objects inside are shared.
    assert http1["state"]["db"] is http2["state"]["db"] is websocket["state"]["db"]


async def test_each_request_gets_its_own_scope() -> None:
    app = ScopeRecorder()
    client = Client(app)
    await client.get("/a")
    await client.get("/b")
    first, second = app.scopes
    assert first is not second
    assert first["extensions"] is not second["extensions"]
    assert first["asgi"] is not second["asgi"]
    assert first["path"] == "/a"


async def test_a_middleware_changing_the_headers_list_changes_only_its_own_request() -> None:
    """Header pairs are shared between scopes (they are immutable tuples); the lists are not."""
    seen: list[list[tuple[bytes, bytes]]] = []

    async def adds_a_header(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan here")
        seen.append(list(scope["headers"]))
        scope["headers"].append((b"x-added", b"by the middleware"))
        scope["headers"][0] = (b"host", b"rewritten")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = Client(adds_a_header)
    for _ in range(3):
        await client.get("/same")
    assert seen[0] == seen[1] == seen[2]
    assert (b"x-added", b"by the middleware") not in seen[2]
    assert seen[2][0] == (b"host", b"testserver")
