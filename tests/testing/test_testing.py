"""playground.testing.TestClient, the drop-in for Starlette's: its API and each decided difference,
on asyncio and on trio, where it can be, checked against Starlette's own client in the same test."""

from __future__ import annotations

import contextlib
import gc
import inspect
import threading
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from playground import AppTimeout, Client, WebSocketEndpoint
from playground.testing import TestClient

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "install httpx2": Starlette's client is here only to compare with
    from starlette import testclient as starlette_testclient

StarletteTestClient = starlette_testclient.TestClient


@pytest.fixture(params=["asyncio", "trio"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    before = threading.active_count()
    yield
    # The portal threads of the calls outside 'with' and of the 'with' blocks have all ended.
    assert threading.active_count() == before


async def echo_scope(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        request = Request(scope, receive)
        body = await request.body()
        response = JSONResponse({
            "method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]], "client": list(scope["client"]),
            "server": list(scope["server"]), "root_path": scope["root_path"], "body": body.decode(),
        })
        await response(scope, receive, send)
    elif scope["type"] == "websocket":
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        await websocket.send_json({"headers": dict(websocket.headers), "subprotocols": scope["subprotocols"],
                                   "url": str(websocket.url)})
        await websocket.close()


def both(backend: str, app: Any = echo_scope, **kwargs: Any) -> list[Any]:
    """The drop-in and Starlette's client, made the same way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [TestClient(app, backend=backend, **kwargs), StarletteTestClient(app, backend=backend, **kwargs)]


def test_the_signature_is_starletteʼs() -> None:
    ours = inspect.signature(TestClient).parameters
    theirs = inspect.signature(StarletteTestClient).parameters
    for name, parameter in theirs.items():
        assert ours[name].default == parameter.default, name
        assert ours[name].kind == parameter.kind, name
    assert list(ours)[:len(theirs)] == list(theirs)
    extra = [p for name, p in ours.items() if name not in theirs]
    assert [p.name for p in extra] == ["timeout", "history", "lifespan"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in extra)


@pytest.mark.filterwarnings("ignore:Setting per-request cookies")  # httpx, inside Starlette's client
@pytest.mark.parametrize("call", [
    lambda c: c.get("/a/b?x=1"),
    lambda c: c.post("/form", data={"a": "1"}),
    lambda c: c.put("/j", json={"a": [1, 2]}, headers={"X-Token": "t", "user-agent": "mine"}),
    lambda c: c.request("trace", "/lower"),  # httpx upper-cases the method; so does the drop-in
    lambda c: c.get("/", params={"q": "ü x"}, cookies={"session": "s1"}),
    lambda c: c.get("/", auth=("user", "pass")),
    lambda c: c.delete("http://example.org:8080/abs"),
])
def test_the_app_sees_what_starletteʼs_client_sends(backend: str, call: Any) -> None:
    ours, theirs = (call(client).json() for client in both(backend))
    assert ours == theirs


def test_client_arguments_reach_the_scope_as_with_starlette(backend: str) -> None:
    options = {"base_url": "https://api.test:8443/v1/", "root_path": "/v1", "client": ("10.0.0.1", 1234),
               "headers": {"x-default": "d"}, "cookies": {"c": "1"}}
    ours, theirs = (client.get("users").json() for client in both(backend, **options))
    assert ours == theirs
    assert ours["server"] == ["api.test", 8443] and ours["client"] == ["10.0.0.1", 1234]


def test_the_websocket_handshake_is_starletteʼs(backend: str) -> None:
    seen = []
    for client in both(backend):
        with client.websocket_connect("/ws?x=1", subprotocols=["a", "b"], headers={"x-k": "v"}) as ws:
            seen.append(ws.receive_json())
    assert seen[0] == seen[1]
    assert "upgrade" not in seen[0]["headers"] and seen[0]["headers"]["sec-websocket-key"] == "testserver=="


def test_a_header_value_arrives_without_surrounding_whitespace(backend: str) -> None:
    # Starlette's client passes ' padded ' on; a server's parser strips it, and so does the drop-in.
    client = TestClient(echo_scope, backend=backend, headers={"x-default": " d "})
    headers = dict(client.get("/", headers={"x-a": "  padded\t"}).json()["headers"])
    assert headers["x-a"] == "padded" and headers["x-default"] == "d"


def test_a_crash_with_exceptions_off_is_an_empty_500_that_keeps_the_error(backend: str) -> None:
    async def crash(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("boom")

    ours, theirs = (c.get("/") for c in both(backend, app=crash, raise_server_exceptions=False))
    assert (ours.status_code, ours.content, list(ours.headers.items())) == (500, b"", [])
    assert (theirs.status_code, theirs.content) == (500, b"")
    assert isinstance(ours.app_exception, ValueError) and ours.trace.outcome == "raised ValueError"
    with pytest.raises(ValueError, match="boom"):
        TestClient(crash, backend=backend).get("/")


async def pushes(scope: Any, receive: Any, send: Any) -> None:
    scope["extensions"]["http.response.push"] = {}  # the app declares the server pushes
    request = Request(scope, receive, send)
    await request.send_push_promise("/style.css")
    await PlainTextResponse("ok")(scope, receive, send)


def test_a_push_promise_is_taken_when_the_scope_offers_push(backend: str) -> None:
    response = TestClient(pushes, backend=backend).get("/")
    assert response.text == "ok"
    assert response.trace.types[0] == "http.response.push"


async def test_an_unoffered_push_is_still_a_protocol_error_for_client(anyio_backend: str) -> None:
    async def push_anyway(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.push", "path": "/x", "headers": []})

    from playground import ASGIProtocolError

    with pytest.raises(ASGIProtocolError, match=r"http\.response\.push"):
        await Client(push_anyway).get("/")
    assert (await Client(pushes).get("/")).text == "ok"


def test_raw_send_hands_the_app_any_message(backend: str) -> None:
    got = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        got.append(await receive())
        await send({"type": "websocket.close", "code": 1000})

    with TestClient(app, backend=backend).websocket_connect("/") as ws:
        ws.send({"type": "websocket.connect", "extra": 1})  # Client's send() refuses this one
        assert ws.receive() == {"type": "websocket.close", "code": 1000}
    assert got == [{"type": "websocket.connect", "extra": 1}]


async def reads_until_disconnect(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        await websocket.send_text(await websocket.receive_text())


def test_the_appʼs_websocketdisconnect_is_raised_from_the_block(backend: str) -> None:
    # FastAPI's documented pattern: the app raises WebSocketDisconnect when the client leaves.
    app = Starlette(routes=[WebSocketRoute("/ws", reads_until_disconnect)])
    for client in both(backend, app=app):
        with pytest.raises(WebSocketDisconnect) as raised:
            with client.websocket_connect("/ws") as ws:
                ws.send_text("hi")
                assert ws.receive_text() == "hi"
        assert raised.value.code == 1000


async def test_client_keeps_the_appʼs_websocketdisconnect_to_itself(anyio_backend: str) -> None:
    app = Starlette(routes=[WebSocketRoute("/ws", reads_until_disconnect)])
    async with Client(app).websocket_connect("/ws") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
    assert ws.closed_by == "client" and isinstance(ws.app_exception, WebSocketDisconnect)


def test_on_disconnect_runs_to_its_end(backend: str) -> None:
    steps: list[str] = []

    class Slow(WebSocketEndpoint):
        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            steps.append(f"hook {close_code}")
            await anyio.sleep(0.05)  # Starlette's client cancels the app here
            await websocket.close()  # after the client left: taken quietly, as Starlette's client does
            steps.append("hook done")

    client = TestClient(Slow, backend=backend)
    with client.websocket_connect("/") as ws:
        ws.send_text("x")
    assert steps == ["hook 1000", "hook done"]
    with client.websocket_connect("/") as ws:
        ws.close(1001)
        assert steps[-1] == "hook done"  # close() waited for the hook too
    assert steps[-2:] == ["hook 1001", "hook done"]


def test_denials_raise_starletteʼs_exception_types(backend: str) -> None:
    async def deny(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("no entry", status_code=403))

    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(code=4001, reason="go away")

    app = Starlette(routes=[WebSocketRoute("/deny", deny), WebSocketRoute("/refuse", refuse)])
    client = TestClient(app, backend=backend)
    with pytest.raises(starlette_testclient.WebSocketDenialResponse) as denied:
        with client.websocket_connect("/deny"):
            pass  # pragma: no cover
    assert (denied.value.status_code, denied.value.text) == (403, "no entry")
    assert isinstance(denied.value, WebSocketDisconnect)
    assert denied.value.trace.types[-1] == "websocket.http.response.body"
    from playground import testing

    assert testing.WebSocketDenialResponse is starlette_testclient.WebSocketDenialResponse
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/refuse"):
            pass  # pragma: no cover
    assert (refused.value.code, refused.value.reason) == (4001, "go away")


def lifespan_app(fail: BaseException | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        if fail is not None:
            raise fail
        yield {"db": "connected"}

    async def home(request: Request) -> JSONResponse:
        return JSONResponse({"db": request.state.db})

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)


def test_with_runs_the_lifespan_on_one_loop_for_the_block(backend: str) -> None:
    client = TestClient(lifespan_app(), backend=backend)
    with client:
        portal = client.portal
        assert portal is not None
        assert client.get("/").json() == {"db": "connected"}
        assert client.app_state == {"db": "connected"}
        assert client.portal is portal
    assert client.portal is None
    with client:  # a second block runs the lifespan again
        assert client.get("/").json() == {"db": "connected"}


def test_a_failing_startup_raises_the_appʼs_own_exception(backend: str) -> None:
    for client in both(backend, app=lifespan_app(fail=KeyError("no db"))):
        with pytest.raises(KeyError, match="no db"):
            with client:
                pass  # pragma: no cover


def test_an_app_without_lifespan_fails_the_with_block_as_with_starlette(backend: str) -> None:
    async def http_only(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http", "http only"
        await PlainTextResponse("ok")(scope, receive, send)

    for client in both(backend, app=http_only):
        with pytest.raises(AssertionError, match="http only"):
            with client:
                pass  # pragma: no cover
    with TestClient(http_only, backend=backend, lifespan="auto") as client:
        assert client.get("/").text == "ok"


async def ticks(request: Request) -> StreamingResponse:
    async def body() -> Any:
        for n in range(3):
            yield f"tick {n}\n"

    return StreamingResponse(body())


def test_stream_reads_as_the_block_iterates(backend: str) -> None:
    client = TestClient(Starlette(routes=[Route("/ticks", ticks)]), backend=backend)
    with client.stream("GET", "/ticks") as response:
        assert response.status_code == 200
        assert list(response.iter_lines()) == ["tick 0", "tick 1", "tick 2"]
    assert response.is_closed


def test_closing_the_client_cancels_a_streamed_response_left_open(backend: str) -> None:
    cancelled = threading.Event()

    async def endless(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
                await anyio.sleep(0.01)
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise

    client = TestClient(endless, backend=backend)
    response = client.send(client.build_request("GET", "/"), stream=True)
    assert next(response.iter_raw()) == b"x"
    client.close()
    assert cancelled.is_set()


def test_history_keeps_the_latest_exchanges_with_their_traces(backend: str) -> None:
    app = Starlette(routes=[Route("/ticks", ticks), WebSocketRoute("/ws", reads_until_disconnect)])
    client = TestClient(app, backend=backend, history=3)
    for _ in range(3):
        client.get("/ticks")
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws") as ws:
        ws.send_text("hi")
        ws.receive_text()
    assert len(client.history) == 3
    assert client.history[-1].trace.types[:2] == ["websocket.connect", "websocket.accept"]
    assert client.history[0].trace.types == ["http.response.start", "http.response.body",
                                              "http.response.body", "http.response.body",
                                              "http.response.body"]
    assert len(TestClient(app, backend=backend, history=0).get("/ticks").trace) == 5
    empty = TestClient(app, backend=backend, history=0)
    empty.get("/ticks")
    assert list(empty.history) == []


def test_an_asgi2_app_is_wrapped_as_starletteʼs_client_does(backend: str) -> None:
    def asgi2(scope: Any) -> Any:
        async def instance(receive: Any, send: Any) -> None:
            await PlainTextResponse(f"asgi2 {scope['path']}")(scope, receive, send)

        return instance

    assert TestClient(asgi2, backend=backend).get("/p").text == "asgi2 /p"


def test_cookies_persist_and_redirects_are_followed_by_default(backend: str) -> None:
    async def login(request: Request) -> Any:
        from starlette.responses import RedirectResponse

        response = RedirectResponse("/me")
        response.set_cookie("session", "abc")
        return response

    async def me(request: Request) -> JSONResponse:
        return JSONResponse({"session": request.cookies.get("session")})

    client = TestClient(Starlette(routes=[Route("/login", login), Route("/me", me)]), backend=backend)
    response = client.get("/login")
    assert response.json() == {"session": "abc"} and [r.status_code for r in response.history] == [307]
    assert client.cookies["session"] == "abc"
    assert client.get("/login", follow_redirects=False).status_code == 307


def test_each_wait_is_bounded(backend: str) -> None:
    async def stuck(websocket: WebSocket) -> None:
        await websocket.accept()
        await anyio.Event().wait()

    client = TestClient(Starlette(routes=[WebSocketRoute("/ws", stuck)]), backend=backend, timeout=0.3)
    waiting = r"WebSocket receive; the app was waiting in .*stuck, line \d+: await anyio.Event"
    with pytest.raises(AppTimeout, match=waiting):
        with client.websocket_connect("/ws") as ws:
            ws.receive_text()
    with pytest.raises(AppTimeout, match="app to finish after the client closed"):
        with client.websocket_connect("/ws"):
            pass  # the app never ends after the client has gone


async def test_an_explicit_port_0_reaches_the_scope(anyio_backend: str) -> None:
    # Starlette's client keeps it; the scope used to fall back to the scheme's default port.
    response = await Client(echo_scope, base_url="http://[::1]:0").get("/")
    assert response.json()["server"] == ["::1", 0]


def test_history_does_not_keep_the_appʼs_exception_alive(backend: str) -> None:
    class Thing:
        pass

    refs = []

    async def crash(scope: Any, receive: Any, send: Any) -> None:
        thing = Thing()  # a local of the app's frame: the exception's traceback holds it
        refs.append(weakref.ref(thing))
        raise ValueError("boom")

    client = TestClient(crash, backend=backend, raise_server_exceptions=False)
    assert client.get("/").status_code == 500
    gc.collect()
    assert refs[0]() is None
    assert client.history[-1].trace.outcome == "raised ValueError"
    assert client.history[-1].app_exception is None


def test_a_url_is_refused_with_a_pointer_to_client() -> None:
    with pytest.raises(TypeError, match=r"playground\.Client\(url\)"):
        TestClient("http://127.0.0.1:8000")
