"""Live mode: ``serve()`` runs uvicorn on the test's own loop; real clients talk to it over loopback.

asyncio only: uvicorn does not run on trio (``serve()`` says so, tested below).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import warnings
from typing import Any

import anyio
import httpx
import pytest
from apps import boom, events
from chat_app import Echo, Homepage
from sockets import open_fds
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect as ws_connect

from playground import AppTimeout, Client, MessageTooLarge, WebSocketDenied, WebSocketDisconnect, serve
from playground.endpoints import HTTPEndpoint, WebSocketEndpoint
from playground.server import NetworkExposureWarning, Server, ServerStartupError

pytestmark = pytest.mark.anyio


# -- the app both modes are exercised against ----------------------------------------------------------

disconnect_codes: list[int] = []


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return JSONResponse({"item": request.path_params["name"], "q": request.query_params.get("q")})

    async def post(self, request: Request) -> Response:
        return JSONResponse({"got": await request.json(), "agent": request.headers["user-agent"]})


class Remember(WebSocketEndpoint):
    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_json({"echo": data})

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        disconnect_codes.append(close_code)


class Bytes(WebSocketEndpoint):  # the seed's bytes example
    encoding = "bytes"

    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: bytes) -> None:
        await websocket.send_bytes(b"Message: " + data)


class Protocols(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=websocket.scope["subprotocols"][-1])


class Deny(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.close(code=1008)


class Bye(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        await websocket.close(code=4000, reason=f"bye {data}")


class Big(WebSocketEndpoint):
    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        await websocket.send_bytes(b"x" * 5000)


class DenyWithResponse(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("members only", status_code=401))


class SlowAccept(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await asyncio.sleep(3600)


class Stuck(WebSocketEndpoint):
    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await asyncio.sleep(3600)  # never receives again: only a cancellation ends it


async def set_cookie(request: Request) -> Response:
    response = PlainTextResponse("set")
    response.set_cookie("flavour", "oat")
    return response


async def read_cookie(request: Request) -> Response:
    return PlainTextResponse(request.cookies.get("flavour", "none"))


async def slow(request: Request) -> Response:
    await asyncio.sleep(3600)
    return PlainTextResponse("never")


app = Starlette(routes=[
    Route("/", Homepage), WebSocketRoute("/ws", Echo),
    Route("/items/{name}", Items), Route("/cookie/set", set_cookie), Route("/cookie", read_cookie),
    Route("/events", events), Route("/slow", slow), Route("/boom", boom),
    WebSocketRoute("/json", Remember), WebSocketRoute("/bytes", Bytes), WebSocketRoute("/protocols", Protocols),
    WebSocketRoute("/deny", Deny), WebSocketRoute("/bye", Bye), WebSocketRoute("/big", Big),
    WebSocketRoute("/stuck", Stuck), WebSocketRoute("/members", DenyWithResponse),
    WebSocketRoute("/slow-accept", SlowAccept),
])


async def exercise(client: Client, *, live: bool) -> None:
    """The same notebook code, in-process or over the network; only the denial differs (see below)."""
    response = await client.get("/")
    assert response.status_code == 200
    assert 'new WebSocket(new URL("ws", location.href.replace(/^http/, "ws")))' in response.text
    assert response.trace is not None and response.trace.types[-2:] == ["http.response.start", "http.response.body"]

    response = await client.get("/items/tea", params={"q": "hot"})
    assert response.json() == {"item": "tea", "q": "hot"}
    response = await client.post("/items/tea", json={"n": 1})
    assert response.json() == {"got": {"n": 1}, "agent": "playground"}
    response = await client.head("/items/tea")
    assert response.status_code == 200 and response.content == b""
    response = await client.delete("/items/tea")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD, POST"

    await client.get("/cookie/set")
    assert (await client.get("/cookie")).text == "oat"

    async with client.stream("GET", "/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        async for line in response.aiter_lines():
            if line:
                lines.append(line)
            if len(lines) == 3:
                break
    assert lines == ["data: 0", "data: 1", "data: 2"]

    with pytest.raises(AppTimeout) as timed_out:
        await client.get("/slow", timeout=0.3)
    assert isinstance(timed_out.value, TimeoutError)

    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "Message text was: hello"
    assert [line.kind for line in ws.transcript] == ["connect", "accept", "text", "text", "close"]
    assert ws.close_code == 1000 and ws.closed_by == "client"

    async with client.websocket_connect("/bytes") as ws:
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"Message: abc"

    disconnect_codes.clear()
    async with client.websocket_connect("/json") as ws:
        await ws.send_json({"a": [1, 2]})
        assert await ws.receive_json() == {"echo": {"a": [1, 2]}}
        with pytest.raises(AppTimeout):
            await ws.receive_json(timeout=0.2)
        await ws.send_json("still open")
        assert await ws.receive_json() == {"echo": "still open"}
        await ws.close(code=4001, reason="done here")
    with anyio.fail_after(2):  # over the network the app hears the close a moment later
        while not disconnect_codes:
            await asyncio.sleep(0.01)
    assert disconnect_codes == [4001]
    assert ws.close_code == 4001 and ws.close_reason == "done here"

    async with client.websocket_connect("/protocols", subprotocols=["wamp", "chat"]) as ws:
        assert ws.accepted_subprotocol == "chat"

    async with client.websocket_connect("/bye") as ws:
        await ws.send_text("now")
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4000, "bye now")
    # Over the network the client cannot tell the app's close from the server's own.
    closer = "server" if live else "app"
    assert str(closed.value) == f"the {closer} closed the WebSocket with code 4000 (bye now)"
    assert (ws.close_code, ws.closed_by) == (4000, "app")
    assert ("app", "close", (4000, "bye now")) in [(line.sender, line.kind, line.data) for line in ws.transcript]

    with pytest.raises(WebSocketDenied) as denied:
        async with client.websocket_connect("/deny"):
            pass
    if live:  # uvicorn turns a close before accept into an HTTP 403: all the network shows
        assert denied.value.response is not None and denied.value.response.status_code == 403
    else:
        assert denied.value.code == 1008


async def test_in_process_and_live_clients_run_the_same_code() -> None:
    await exercise(Client(app), live=False)
    async with serve(app) as server, Client(server.url) as live:
        await exercise(live, live=True)
        assert repr(live).startswith(f"<Client network at {server.url}")


# -- serve() with clients that are not ours ------------------------------------------------------------


async def test_serve_binds_loopback_on_a_free_port_and_answers_other_clients() -> None:
    server = serve(app)
    assert server.status == "not started" and not server.running
    await server
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.running and server.status == "running"
        assert server.state == "running"  # the old name of status
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
            page = await http.get("/")
            assert page.status_code == 200 and "<h1>WebSocket Chat</h1>" in page.text
            assert (await http.get("/items/pen")).json() == {"item": "pen", "q": None}
        async with ws_connect(f"ws://127.0.0.1:{server.port}/ws", proxy=None) as ws:
            await ws.send("from websockets")
            assert await ws.recv() == "Message text was: from websockets"
        async with ws_connect(f"ws://127.0.0.1:{server.port}/bytes", proxy=None) as ws:
            await ws.send(b"\x00\x01")
            assert await ws.recv() == b"Message: \x00\x01"
    finally:
        await server.stop()
    assert server.status == "stopped" and server.state == "stopped" and not server.running


async def test_several_servers_at_once_keep_their_own_logs() -> None:
    async with serve(app) as first, serve(app) as second:
        assert first.port != second.port
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(first.url + "/items/a")).status_code == 200
            assert (await http.get(second.url + "/items/b")).status_code == 200
        first_log, second_log = "\n".join(first.logs), "\n".join(second.logs)
        assert '"GET /items/a HTTP/1.1" 200' in first_log and "/items/b" not in first_log
        assert '"GET /items/b HTTP/1.1" 200' in second_log and "/items/a" not in second_log
        assert f"Uvicorn running on http://127.0.0.1:{first.port}" in first_log


async def test_network_client_edges() -> None:
    async with serve(app) as server, Client(server.url, max_message_size=1000) as client:
        with pytest.raises(MessageTooLarge):
            async with client.websocket_connect("/big") as ws:
                await ws.send_text("go")
                await ws.receive_bytes()
        assert ws.close_code == 1009 and ws.closed_by == "client"

        response = await client.get("/boom")
        assert response.status_code == 500 and response.text == "Internal Server Error"
        assert response.trace is not None and response.trace.seen_from == "client"
        assert response.trace.scope["client"][0] == "127.0.0.1"
        assert any("ValueError: boom in the app" in line for line in server.logs)

        async with client.websocket_connect("/ws") as ws:
            assert ws.trace.seen_from == "client"
            assert (b"user-agent", b"playground") in ws.trace.scope["headers"]
            await ws.send_text("x")
            message = await ws.receive()
            assert message == {"type": "websocket.send", "text": "Message text was: x"}
            assert ws.trace.types == ["websocket.connect", "websocket.accept", "websocket.receive",
                                      "websocket.send"]
            with pytest.raises(TypeError):
                await ws.send_text(b"bytes")  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="closed"):
            await ws.send_text("too late")

        with pytest.raises(WebSocketDenied) as denied:
            await client.websocket_connect("/members")
        assert denied.value.response is not None
        assert (denied.value.response.status_code, denied.value.response.text) == (401, "members only")

        with pytest.raises(AppTimeout, match="WebSocket accept") as timed_out:
            await client.websocket_connect("/slow-accept", timeout=0.3)
        assert isinstance(timed_out.value, TimeoutError)

    with pytest.raises(httpx.ConnectError):  # the server is gone
        await Client(server.url).get("/")
    with pytest.raises(ValueError, match="http:// or https://"):
        Client("ftp://example.org")


# -- stopping ---------------------------------------------------------------------------------------------


async def test_stop_frees_the_port_and_the_server_starts_again_on_it() -> None:
    server = await serve(app)
    port = server.port
    async with httpx.AsyncClient(trust_env=False) as http:
        assert (await http.get(server.url + "/items/a")).status_code == 200
    await server.stop()
    with socket.socket() as probe:  # nobody listens there any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
    await server  # again, same handle, same port
    try:
        assert server.port == port and server.running
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(server.url + "/items/b")).json()["item"] == "b"
    finally:
        await server.stop()
    again = await serve(app, port=port)  # and a new server on the same port
    await again.stop()


async def cycle() -> None:
    async with serve(app) as server, Client(server.url) as client:
        assert (await client.get("/items/x")).status_code == 200
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("x")
            await ws.receive_text()
        left_open = await client.websocket_connect("/json")  # stop() has to close this one
        await left_open.send_json(1)
        await left_open.receive_json()


async def test_start_stop_cycles_leak_no_file_descriptor_or_task() -> None:
    await cycle()  # first use imports and caches what later cycles share
    fds, tasks = open_fds(), len(asyncio.all_tasks())
    for _ in range(20):
        await cycle()
    await asyncio.sleep(0.05)
    assert open_fds() == fds
    assert len(asyncio.all_tasks()) == tasks


async def test_stop_closes_open_websockets_with_1001_within_a_bound() -> None:
    server = await serve(app)
    client = Client(server.url)
    ours = await client.websocket_connect("/ws")
    theirs = await ws_connect(f"ws://127.0.0.1:{server.port}/ws", proxy=None)
    stuck = await ws_connect(f"ws://127.0.0.1:{server.port}/stuck", proxy=None)  # an app that never listens
    with anyio.fail_after(4):
        await server.stop()
    with pytest.raises(WebSocketDisconnect) as closed:
        await ours.receive_text()
    assert closed.value.code == 1001 and ours.closed_by == "app"
    assert str(closed.value) == "the server closed the WebSocket with code 1001 (server shutting down)"
    for connection in (theirs, stuck):
        with anyio.fail_after(2):
            await connection.wait_closed()
        assert connection.close_code == 1001
    await client.aclose()


async def test_stop_ends_a_response_still_streaming_within_a_bound() -> None:
    server = await serve(app)
    fds = open_fds()
    async with httpx.AsyncClient(trust_env=False) as http:
        async with http.stream("GET", server.url + "/events") as response:
            chunks = response.aiter_bytes()
            assert (await anext(chunks)).startswith(b"data: 0")
            with anyio.fail_after(4):
                await server.stop()
            # The server ends the stream as a departing client would: the app is told, the body is cut.
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                async for _ in chunks:
                    pass
    assert open_fds() < fds  # the listener and the connection are gone
    assert any(line.endswith('"GET /events HTTP/1.1" cut short: the server is shutting down')
               for line in server.logs)
    assert [line for line in server.logs if not line.startswith("INFO")] == []


async def test_a_client_dropping_mid_message_leaves_the_server_serving() -> None:
    async with serve(app) as server:
        # Half an HTTP request, then the socket closes.
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /items/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"n\":")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        # Half a WebSocket frame (a masked text frame announcing 16 bytes, carrying 3), then gone.
        ws = await ws_connect(f"ws://127.0.0.1:{server.port}/ws", proxy=None)
        ws.transport.write(b"\x81\x90" + b"\x00\x00\x00\x00" + b"abc")
        ws.transport.abort()
        # A stream the client leaves after one chunk.
        async with Client(server.url) as client:
            async with client.stream("GET", "/events") as response:
                async for _ in response.aiter_bytes():
                    break
            await asyncio.sleep(0.1)
            assert (await client.get("/items/after")).json()["item"] == "after"
            async with client.websocket_connect("/ws") as session:
                await session.send_text("still here")
                assert await session.receive_text() == "Message text was: still here"
        assert server.running


# -- what serve() leaves alone, and what it says -----------------------------------------------------------


async def test_signal_handlers_stay_the_kernels() -> None:
    handled = (signal.SIGINT, signal.SIGTERM)
    sentinel = {sig: (lambda signum, frame: None) for sig in handled}
    previous = {sig: signal.signal(sig, sentinel[sig]) for sig in handled}
    try:
        server = await serve(app)
        during = {sig: signal.getsignal(sig) for sig in handled}
        async with httpx.AsyncClient(trust_env=False) as http:
            await http.get(server.url + "/items/a")
        await server.stop()
        after = {sig: signal.getsignal(sig) for sig in handled}
        assert during == sentinel and after == sentinel
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def test_logs_go_to_the_handle_and_nothing_to_stdout_or_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    async with serve(app) as server, Client(server.url) as client:
        await client.get("/items/logged")
        assert (await client.get("/boom")).status_code == 500
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    text = "\n".join(server.logs)
    assert '"GET /items/logged HTTP/1.1" 200' in text
    assert "Exception in ASGI application" in text and "ValueError: boom in the app" in text
    assert server.logs[-1].startswith("INFO: Finished server process")


async def test_only_loopback_unless_asked_and_then_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
            Server(app, host=host)
    with pytest.warns(NetworkExposureWarning, match="0.0.0.0"):
        server = serve(app, host="0.0.0.0")
    async with server:
        assert server.url == f"http://0.0.0.0:{server.port}"
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(f"http://127.0.0.1:{server.port}/items/a")).status_code == 200


async def test_display() -> None:
    server = serve(app)
    assert "not started" in repr(server)
    async with server:
        assert repr(server) == f"<Server {server.url} running, serving Starlette>"
        html = server._repr_html_()
        assert f'<a href="{server.url}" target="_blank">{server.url}</a>' in html and "running" in html
    assert "stopped" in server._repr_html_() and repr(server).endswith("stopped, serving Starlette>")


# -- failures are errors, not hangs ----------------------------------------------------------------------------


async def test_a_port_in_use_is_a_clear_error() -> None:
    async with serve(app) as server:
        with pytest.raises(OSError, match=f"cannot serve on 127.0.0.1:{server.port}"):
            await serve(app, port=server.port)


async def test_a_live_session_refuses_the_same_bad_input() -> None:
    # The bad input the in-process client refuses (client/test_edge_cases.py), over a real connection.
    async with serve(Echo) as server:
        live = Client(server.url, timeout=2)
        with anyio.fail_after(5):
            with pytest.raises(ValueError, match="timeout must be a positive number"):
                await live.get("/", timeout=float("nan"))
            async with live.websocket_connect("/") as ws:
                with pytest.raises(TypeError, match=r"websocket\.receive"):
                    await ws.send("hello")  # type: ignore[arg-type]
                with pytest.raises(ValueError, match="timeout must be a positive number"):
                    await ws.receive_text(timeout=float("nan"))
                with pytest.raises(ValueError, match="close code"):
                    await ws.close(code=5000)
                await ws.send_text("still open")
                assert await ws.receive_text() == "Message text was: still open"
            assert ws.close_code == 1000
        await live.aclose()


def lifespan_app(startup: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        if startup == "fail":
            raise RuntimeError("no database")
        await asyncio.sleep(3600)
        yield

    return Starlette(lifespan=lifespan)


async def test_startup_failures_raise_and_leave_nothing_behind() -> None:
    fds, tasks = open_fds(), len(asyncio.all_tasks())
    failing = serve(lifespan_app("fail"))
    with pytest.raises(ServerStartupError, match="no database"):
        await failing
    assert failing.status == "failed" and failing.state == "failed"
    hanging = serve(lifespan_app("hang"), startup_timeout=0.3)
    with pytest.raises(ServerStartupError, match=r"did not start within 0\.3 s"):
        await hanging
    await asyncio.sleep(0.05)
    assert open_fds() == fds and len(asyncio.all_tasks()) == tasks


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(TypeError, match="ASGI app"):
        serve("main:app")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        serve(app, port=70000)
    with pytest.raises(ValueError, match="workers"):
        serve(app, workers=2)


def test_under_trio_serve_says_it_needs_asyncio() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"needs asyncio.*trio"):
            await serve(app)

    anyio.run(main, backend="trio")
