"""Live server under misbehaving and demanding clients: the server keeps serving or stops cleanly.

Clients that vanish mid-request, mid-handshake or mid-frame; a reader too slow for a large body; 200
websockets-library clients at once; ``stop()`` while WebSockets are open and responses are streaming.
After each: the server still answers (or, after a stop, its port is free and it starts again), its log
holds what happened and nothing reaches stderr, and no task or file descriptor is left behind.

asyncio only (uvicorn); loopback only; every wait is bounded. The rows of the "Live server" table in
docs/faults.md name these tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import struct
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx
import pytest
from sockets import open_fds
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from task_census import settled_tasks
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from playground import Client, serve
from playground.endpoints import HTTPEndpoint, WebSocketEndpoint
from playground.server import Server

pytestmark = pytest.mark.anyio

BIG_CHUNK = 64 * 1024
BIG_CHUNKS = 128  # 8 MiB: twice what the kernel buffers for a socket here (tcp_wmem 4 MiB), so the app waits


# -- the app: it records what it saw, so the tests can check what reached it ---------------------------------


@dataclass
class Seen:
    events: list[str] = field(default_factory=list)
    disconnect_codes: list[int] = field(default_factory=list)
    open_chats: int = 0
    most_open_chats: int = 0
    big_bytes_sent: int = 0


def big_chunk(number: int) -> bytes:
    """Chunk ``number`` of the large body: distinct per chunk, so a lost or reordered chunk shows."""
    return hashlib.sha256(str(number).encode()).digest() * (BIG_CHUNK // 32)


BIG_DIGEST = hashlib.sha256(b"".join(big_chunk(number) for number in range(BIG_CHUNKS))).hexdigest()


def make_app(seen: Seen) -> Starlette:
    class Chat(WebSocketEndpoint):
        encoding = "text"

        async def on_connect(self, websocket: WebSocket) -> None:
            await websocket.accept()
            seen.open_chats += 1
            seen.most_open_chats = max(seen.most_open_chats, seen.open_chats)

        async def on_receive(self, websocket: WebSocket, data: str) -> None:
            await websocket.send_text(f"echo {data}")

        async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
            seen.open_chats -= 1
            seen.disconnect_codes.append(close_code)

    class Upload(HTTPEndpoint):
        async def post(self, request: Request) -> Response:
            try:
                body = await request.body()
            except ClientDisconnect:
                seen.events.append("upload: client disconnected")
                raise
            return PlainTextResponse(str(len(body)))

    async def ticker(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            for _ in range(10_000):  # about a minute: far longer than any client here stays
                await websocket.send_text("tick")
                await asyncio.sleep(0.005)
        except WebSocketDisconnect as exc:
            seen.events.append(f"ticker: WebSocketDisconnect {exc.code}")

    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    async def big(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for number in range(BIG_CHUNKS):
                chunk = big_chunk(number)
                yield chunk
                seen.big_bytes_sent += len(chunk)

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def endless(request: Request) -> Response:
        return endless_events(seen.events, "endless: stopped")

    async def slow(request: Request) -> Response:
        seen.events.append("slow: started")
        await asyncio.sleep(3600)
        return PlainTextResponse("never")

    return Starlette(routes=[
        Route("/", hello), Route("/upload", Upload), Route("/big", big), Route("/endless", endless),
        Route("/slow", slow), WebSocketRoute("/chat", Chat), WebSocketRoute("/ticker", ticker),
    ])


# -- helpers -------------------------------------------------------------------------------------------------


async def settled_fds(baseline: int, within: float = 3.0) -> int:
    """The open descriptors once closing sockets have gone (a transport closes on a later loop turn)."""
    with anyio.move_on_after(within):
        while open_fds() > baseline:
            await asyncio.sleep(0.02)
    return open_fds()


async def wait_for(condition: Callable[[], bool], within: float = 3.0) -> None:
    """The server learns of a client's disconnect a moment after the client leaves."""
    with anyio.fail_after(within):
        while not condition():
            await asyncio.sleep(0.01)


async def still_serves(server: Server) -> None:
    """A normal request and a WebSocket echo, through the playground's own network client."""
    with anyio.fail_after(5):
        async with Client(server.url) as client:
            response = await client.get("/")
            assert (response.status_code, response.text) == (200, "hello")
            async with client.websocket_connect("/chat") as ws:
                await ws.send_text("still there?")
                assert await ws.receive_text() == "echo still there?"
            assert ws.close_code == 1000


def reset_on_close(writer: asyncio.StreamWriter | asyncio.BaseTransport) -> None:
    """SO_LINGER 0: closing the socket sends RST instead of FIN, as a crashed client's kernel may."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def raw_client(port: int, data: bytes, *, reset: bool, read_until: bytes | None = None,
                     then: bytes = b"") -> int:
    """Connect, send ``data``, read up to ``read_until`` and send ``then``, then close or reset.

    Returns the client's own port, which names the connection in the server's log.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    local_port: int = writer.get_extra_info("sockname")[1]
    try:
        writer.write(data)
        await writer.drain()
        if read_until is not None:
            with anyio.fail_after(3):
                answer = await reader.readuntil(read_until)
            assert answer.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 101 ")), answer
        writer.write(then)
        await writer.drain()
    finally:
        if reset:
            reset_on_close(writer)
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionResetError:
            pass
    return local_port


HANDSHAKE = (b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: " + base64.b64encode(b"0123456789abcdef") + b"\r\n"
             b"Sec-WebSocket-Version: 13\r\n\r\n")
# A masked text frame announcing 16 bytes of payload, with its masking key and none of the payload.
FRAME_HEADER_ONLY = b"\x81\x90" + b"\x01\x02\x03\x04"


# -- abrupt disconnects --------------------------------------------------------------------------------------


@dataclass
class Abrupt:
    """One way for a client to vanish, and what the server's log and the app should show for it."""

    id: str
    act: Callable[[int], Awaitable[int]]  # runs against the port, returns the client's own port
    lost: str  # the log's line for the lost connection (trace level), after "127.0.0.1:PORT - "
    events: list[str] = field(default_factory=list)  # what the app records
    codes: list[int] = field(default_factory=list)  # what the app's on_disconnect gets
    errors: list[str] = field(default_factory=list)  # the log's ERROR lines (seen at the default level)


async def half_request_line(port: int) -> int:
    return await raw_client(port, b"GET /hel", reset=False)


async def half_headers_then_reset(port: int) -> int:
    return await raw_client(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", reset=True)


async def half_body_then_reset(port: int) -> int:
    request = b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
    return await raw_client(port, request + b"x" * 10, reset=True)


async def stream_reader_resets(port: int) -> int:
    return await raw_client(port, b"GET /endless HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", reset=True,
                            read_until=b"data: 2\n\n")


async def half_handshake_then_close(port: int) -> int:
    return await raw_client(port, HANDSHAKE[:60], reset=False)


async def half_handshake_then_reset(port: int) -> int:
    return await raw_client(port, HANDSHAKE[:60], reset=True)


async def frame_header_then_close(port: int) -> int:
    return await raw_client(port, HANDSHAKE, reset=False, read_until=b"\r\n\r\n", then=FRAME_HEADER_ONLY)


async def frame_header_then_reset(port: int) -> int:
    return await raw_client(port, HANDSHAKE, reset=True, read_until=b"\r\n\r\n", then=FRAME_HEADER_ONLY)


async def vanish(ws: ClientConnection) -> int:
    """The websockets client disappears: no close frame, the socket reset."""
    local_port: int = ws.local_address[1]
    reset_on_close(ws.transport)
    ws.transport.abort()
    with anyio.fail_after(3):
        await ws.wait_closed()
    return local_port


async def websocket_vanishes_mid_session(port: int) -> int:
    ws = await ws_connect(f"ws://127.0.0.1:{port}/chat", proxy=None, open_timeout=5)
    await ws.send("one")
    with anyio.fail_after(3):
        assert await ws.recv() == "echo one"
    return await vanish(ws)


async def websocket_vanishes_while_app_sends(port: int) -> int:
    ws = await ws_connect(f"ws://127.0.0.1:{port}/ticker", proxy=None, open_timeout=5)
    with anyio.fail_after(3):
        assert await ws.recv() == "tick"
    return await vanish(ws)


ABRUPT = [
    Abrupt("http-half-request-line-then-close", half_request_line, "HTTP connection lost"),
    Abrupt("http-half-headers-then-reset", half_headers_then_reset, "HTTP connection lost"),
    Abrupt("http-half-body-then-reset", half_body_then_reset, "HTTP connection lost",
           events=["upload: client disconnected"],
           errors=["ERROR: Exception in ASGI application", "starlette.requests.ClientDisconnect"]),
    Abrupt("http-stream-reader-resets", stream_reader_resets, "HTTP connection lost",
           events=["endless: stopped"]),
    Abrupt("ws-half-handshake-then-close", half_handshake_then_close, "HTTP connection lost"),
    Abrupt("ws-half-handshake-then-reset", half_handshake_then_reset, "HTTP connection lost"),
    Abrupt("ws-frame-header-then-close", frame_header_then_close, "WebSocket connection lost", codes=[1005]),
    Abrupt("ws-frame-header-then-reset", frame_header_then_reset, "WebSocket connection lost", codes=[1005]),
    Abrupt("ws-client-vanishes-mid-session", websocket_vanishes_mid_session, "WebSocket connection lost",
           codes=[1005]),
    Abrupt("ws-client-vanishes-while-app-sends", websocket_vanishes_while_app_sends,
           "WebSocket connection lost", events=["ticker: WebSocketDisconnect 1006"]),
]


@pytest.mark.parametrize("abrupt", ABRUPT, ids=[abrupt.id for abrupt in ABRUPT])
async def test_an_abrupt_disconnect_leaves_the_server_serving(
    abrupt: Abrupt, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    capfd.readouterr()
    # At trace level uvicorn logs every lost connection; errors are logged at the default level too.
    async with serve(make_app(seen), log_level="trace") as server:
        client_port = await abrupt.act(server.port)
        prefix = f"TRACE: 127.0.0.1:{client_port} - "
        await wait_for(lambda: prefix + abrupt.lost in server.logs)
        # uvicorn's WebSocket code is 1005 for a connection lost without a close frame (RFC 6455 says 1006).
        await wait_for(lambda: len(seen.events) >= len(abrupt.events)
                       and len(seen.disconnect_codes) >= len(abrupt.codes))
        await still_serves(server)
        assert server.running
        assert seen.events == abrupt.events
        assert seen.disconnect_codes == [*abrupt.codes, 1000]  # then still_serves' own session
        errors = "\n".join(line for line in server.logs if line.startswith(("ERROR", "WARNING", "CRITICAL")))
        for expected in abrupt.errors:
            assert expected in errors
        if not abrupt.errors:
            assert errors == ""
    # Nothing printed, and no log record passed on to the root logger (in a kernel, that prints to stderr;
    # under pytest, caplog holds it instead).
    assert capfd.readouterr() == ("", "")
    assert caplog.records == []


# -- a slow reader -------------------------------------------------------------------------------------------


async def test_a_slow_reader_gets_every_byte_while_others_are_served_promptly() -> None:
    seen = Seen()
    received = 0
    digest = hashlib.sha256()
    # A small receive buffer and small, paced reads: the body arrives far slower than the app makes it.
    slow_transport = httpx.AsyncHTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)])

    async def read_slowly(url: str) -> None:
        nonlocal received
        async with httpx.AsyncClient(transport=slow_transport, trust_env=False) as http:
            async with http.stream("GET", url + "/big") as response:
                assert response.headers["content-type"] == "application/octet-stream"
                async for chunk in response.aiter_raw(65536):
                    digest.update(chunk)
                    received += len(chunk)
                    await asyncio.sleep(0.015)  # 128 reads: at least 1.9 s in all

    async with serve(make_app(seen)) as server, Client(server.url) as client:
        reader = asyncio.create_task(read_slowly(server.url))
        await wait_for(lambda: received > 0)
        # The app waits for the reader (flow control) rather than the server buffering the whole body.
        sent_early = seen.big_bytes_sent
        assert sent_early < BIG_CHUNK * BIG_CHUNKS
        quick: list[float] = []
        for number in range(3):  # while the slow reader is still reading
            started = asyncio.get_running_loop().time()
            with anyio.fail_after(2):
                assert (await client.get("/")).text == "hello"
                async with client.websocket_connect("/chat") as ws:
                    await ws.send_text(str(number))
                    assert await ws.receive_text() == f"echo {number}"
            quick.append(asyncio.get_running_loop().time() - started)
        assert not reader.done() and received < BIG_CHUNK * BIG_CHUNKS
        with anyio.fail_after(30):
            await reader
    assert received == BIG_CHUNK * BIG_CHUNKS and digest.hexdigest() == BIG_DIGEST
    assert seen.big_bytes_sent == BIG_CHUNK * BIG_CHUNKS
    print(f"slow reader: {received:,} bytes; other exchanges took at most {max(quick) * 1000:.0f} ms, "
          f"when the reader had its first bytes the app had sent {sent_early:,}")


# -- many clients at once ------------------------------------------------------------------------------------

CLIENTS = 200
MESSAGES = 5


async def test_200_websockets_clients_at_once_no_cross_talk_all_closed_1000_no_fd_left() -> None:
    seen = Seen()
    async with serve(make_app(seen)) as server:
        url = f"ws://127.0.0.1:{server.port}/chat"
        async with ws_connect(url, proxy=None) as warm:  # the first connection loads what later ones share
            await warm.send("warm")
            await warm.recv()
        await wait_for(lambda: seen.disconnect_codes == [1000])
        seen.disconnect_codes.clear()
        baseline = open_fds()
        all_open = asyncio.Event()
        connected = 0
        connections: list[ClientConnection] = []

        async def talk(number: int) -> list[str]:
            nonlocal connected
            async with ws_connect(url, proxy=None, open_timeout=20, close_timeout=5) as ws:
                connections.append(ws)
                connected += 1
                if connected == CLIENTS:
                    all_open.set()
                await all_open.wait()  # every client is open before any of them talks
                answers = []
                for message in range(MESSAGES):
                    await ws.send(f"client {number} message {message}")
                    answers.append(await ws.recv())
                return answers

        with anyio.fail_after(60):
            answers = await asyncio.gather(*(talk(number) for number in range(CLIENTS)))
        assert answers == [[f"echo client {number} message {message}" for message in range(MESSAGES)]
                           for number in range(CLIENTS)]
        assert seen.most_open_chats == CLIENTS
        assert Counter(ws.close_code for ws in connections) == {1000: CLIENTS}
        await wait_for(lambda: len(seen.disconnect_codes) == CLIENTS)
        assert Counter(seen.disconnect_codes) == {1000: CLIENTS} and seen.open_chats == 0
        connections.clear()
        assert await settled_fds(baseline) == baseline
        await still_serves(server)


# -- stop() under load ---------------------------------------------------------------------------------------

OPEN_AT_STOP = 50


async def finish_reading(chunks: AsyncIterator[bytes]) -> tuple[bytes, httpx.HTTPError | None]:
    """The rest of a body and the error that ended it, if one did; never a hang (the caller bounds it)."""
    body = b""
    try:
        async for chunk in chunks:
            body += chunk
    except httpx.HTTPError as exc:
        return body, exc
    return body, None


def event_numbers(body: bytes) -> list[int]:
    """The numbers of an endless stream's events (``data: N``), checking that the body ends between two."""
    *events, after_last = body.decode().split("\n\n")
    assert after_last == ""
    return [int(event.removeprefix("data: ")) for event in events]


def error_lines(server: Server) -> list[str]:
    return [line for line in server.logs if line.startswith(("ERROR", "WARNING", "CRITICAL"))]


async def test_stop_under_load_closes_everything_within_a_bound_and_serves_again() -> None:
    seen = Seen()
    tasks_before = await settled_tasks(set(asyncio.all_tasks()))
    fds_before = open_fds()
    server = await serve(make_app(seen))
    port = server.port
    async with contextlib.AsyncExitStack() as cleanup:
        # Should an assertion fail, the clients still go (the server is stopped by then, or just below).
        cleanup.push_async_callback(server.stop)
        http = await cleanup.enter_async_context(
            httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=None))
        with anyio.fail_after(20):
            url = f"ws://127.0.0.1:{port}/chat"
            sockets = await asyncio.gather(*(ws_connect(url, proxy=None, open_timeout=10)
                                             for _ in range(OPEN_AT_STOP)))
            for ws in sockets:
                cleanup.callback(ws.transport.abort)
            for number, ws in enumerate(sockets):
                await ws.send(str(number))
                assert await ws.recv() == f"echo {number}"
        # Requests in flight: two endless streams and a large body, part-read; one with no answer yet.
        streams = [await http.send(http.build_request("GET", path), stream=True)
                   for path in ("/endless", "/endless", "/big")]
        for response in streams:
            cleanup.push_async_callback(response.aclose)
        readers = [response.aiter_raw() for response in streams]
        firsts = [await anext(chunks) for chunks in readers]
        assert [response.status_code for response in streams] == [200, 200, 200]
        waiting = asyncio.create_task(http.get("/slow"))
        cleanup.callback(waiting.cancel)
        await wait_for(lambda: "slow: started" in seen.events)

        started = asyncio.get_running_loop().time()
        with anyio.fail_after(6):
            await server.stop()
        stop_took = asyncio.get_running_loop().time() - started
        assert server.status == "stopped"
        # The three responses under way are cut as if their clients had gone; only the unanswered request
        # waits out uvicorn's graceful period (1 s) and is cancelled, with its traceback in the log.
        cut = [line.split(" - ", 1)[1] for line in server.logs if line.endswith("the server is shutting down")]
        assert Counter(cut) == {'"GET /endless HTTP/1.1" cut short: the server is shutting down': 2,
                                '"GET /big HTTP/1.1" cut short: the server is shutting down': 1}
        errors = error_lines(server)
        assert errors[0] == "ERROR: Cancel 1 running task(s), timeout graceful shutdown exceeded"
        assert len(errors) == 2 and errors[1].startswith("ERROR: Exception in ASGI application")
        assert "asyncio.exceptions.CancelledError" in errors[1] and "in slow" in errors[1]

        with anyio.fail_after(5):
            await asyncio.gather(*(ws.wait_closed() for ws in sockets))
            endings = await asyncio.gather(*(finish_reading(chunks) for chunks in readers))
            (answer,) = await asyncio.gather(waiting, return_exceptions=True)
        assert Counter((ws.close_code, ws.close_reason) for ws in sockets) == {
            (1001, "server shutting down"): OPEN_AT_STOP}
        assert Counter(seen.disconnect_codes) == {1001: OPEN_AT_STOP}
        # Each response under way ends early, as a body cut short: what came before the cut arrives intact.
        assert all(isinstance(error, httpx.RemoteProtocolError) for _, error in endings)
        for (rest, _), first in zip(endings[:2], firsts[:2], strict=True):
            numbers = event_numbers(first + rest)
            assert numbers == list(range(len(numbers)))
        big_part = firsts[2] + endings[2][0]
        assert 0 < len(big_part) < BIG_CHUNK * BIG_CHUNKS
        assert big_part == b"".join(big_chunk(number) for number in range(BIG_CHUNKS))[: len(big_part)]
        # uvicorn cancels a request still running after its graceful period: a 500.
        assert not isinstance(answer, BaseException) and answer.status_code == 500
        assert seen.events == ["slow: started", "endless: stopped", "endless: stopped"]

    assert await settled_tasks(tasks_before, within=2) == tasks_before
    assert await settled_fds(fds_before) == fds_before
    with socket.socket() as probe:  # nobody listens on the port
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    with socket.socket() as listener:  # and it can be bound (as a server binds it, with SO_REUSEADDR)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()

    await server  # the same handle starts again, on the same port
    try:
        assert server.port == port
        await still_serves(server)
    finally:
        await server.stop()
    print(f"stop() with {OPEN_AT_STOP} WebSockets, 3 responses streaming and 1 unanswered took {stop_took:.2f} s")


# -- stop() with endless event streams open ------------------------------------------------------------------


def endless_events(ended: list[str], when_ended: str) -> StreamingResponse:
    """Server-sent events every 5 ms that only the client leaving or the server stopping ends; the
    generator's ``finally`` appends ``when_ended`` to ``ended``."""

    async def lines() -> AsyncIterator[str]:
        try:
            for number in range(1_000_000):
                yield f"data: {number}\n\n"
                await asyncio.sleep(0.005)
        finally:
            ended.append(when_ended)

    return StreamingResponse(lines(), media_type="text/event-stream")


def event_stream_app(ended: list[str], *, spec_version: str | None) -> Callable[..., Awaitable[None]]:
    """Server-sent events, endless, from Starlette's StreamingResponse; ``spec_version`` overrides the
    ASGI spec version uvicorn announces (2.3), so Starlette takes its ASGI 2.4 path."""

    async def events(request: Request) -> Response:
        return endless_events(ended, "events: finally")

    app = Starlette(routes=[Route("/events", events)])

    async def announcing(scope: dict, receive: Callable, send: Callable) -> None:
        if spec_version is not None and scope["type"] == "http":
            scope = {**scope, "asgi": {**scope["asgi"], "spec_version": spec_version}}
        await app(scope, receive, send)

    return announcing


def send_only_app(ended: list[str], *, in_task_group: bool = False) -> Callable[..., Awaitable[None]]:
    """A bare ASGI app that streams and never calls receive(): only send() can tell it the client left.

    ``in_task_group``: the stream runs in an anyio task group, so the OSError leaves as an ExceptionGroup.
    """

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        if in_task_group:
            async with anyio.create_task_group() as group:
                group.start_soon(stream, send)
        else:
            await stream(send)

    async def stream(send: Callable) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        try:
            for number in range(1_000_000):
                await send({"type": "http.response.body", "body": f"data: {number}\n\n".encode(),
                            "more_body": True})
                await asyncio.sleep(0.005)
        except OSError as exc:
            ended.append(f"send raised {type(exc).__name__}, an OSError")
            raise

    return app


EVENT_STREAMS = {
    # uvicorn announces ASGI 2.3: Starlette listens for http.disconnect and cancels the generator.
    "starlette-asgi-2.3": (lambda ended: event_stream_app(ended, spec_version=None), "events: finally"),
    # ASGI 2.4: Starlette relies on send() raising OSError and raises ClientDisconnect.
    "starlette-asgi-2.4": (lambda ended: event_stream_app(ended, spec_version="2.4"), "events: finally"),
    "bare-app-that-only-sends": (send_only_app, "send raised ClientDisconnected, an OSError"),
    "bare-app-in-a-task-group": (lambda ended: send_only_app(ended, in_task_group=True),
                                 "send raised ClientDisconnected, an OSError"),
}


@pytest.mark.parametrize("kind", list(EVENT_STREAMS))
async def test_stop_ends_endless_event_streams_as_a_client_disconnect_would(
    kind: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    make, ending = EVENT_STREAMS[kind]
    ended: list[str] = []
    capfd.readouterr()
    tasks_before = await settled_tasks(set(asyncio.all_tasks()))
    fds_before = open_fds()
    server = await serve(make(ended))
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(server.stop)
        http = await cleanup.enter_async_context(
            httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=None))
        streams = [await http.send(http.build_request("GET", "/events"), stream=True) for _ in range(2)]
        for response in streams:
            cleanup.push_async_callback(response.aclose)
        readers = [response.aiter_raw() for response in streams]
        firsts = [await anext(chunks) for chunks in readers]

        started = asyncio.get_running_loop().time()
        with anyio.fail_after(6):
            await server.stop()
        stop_took = asyncio.get_running_loop().time() - started
        with anyio.fail_after(5):
            endings = await asyncio.gather(*(finish_reading(chunks) for chunks in readers))
        # The client sees the body cut between two events: the chunked body has no end.
        for (rest, error), first in zip(endings, firsts, strict=True):
            assert isinstance(error, httpx.RemoteProtocolError) and "incomplete chunked read" in str(error)
            numbers = event_numbers(first + rest)
            assert numbers[:1] == [0] and numbers == list(range(len(numbers)))
        # The app's own code after the stream ran, for both.
        await wait_for(lambda: len(ended) == 2)
        assert ended == [ending, ending]

    # uvicorn had nothing left to wait for or cancel: no error, its shutdown ran to the end.
    assert error_lines(server) == []
    cut = [line.split(" - ", 1)[1] for line in server.logs if line.endswith("the server is shutting down")]
    assert cut == ['"GET /events HTTP/1.1" cut short: the server is shutting down'] * 2
    assert server.logs[-1].startswith("INFO: Finished server process")
    assert capfd.readouterr() == ("", "")
    assert caplog.records == []
    assert await settled_tasks(tasks_before, within=2) == tasks_before
    assert await settled_fds(fds_before) == fds_before
    print(f"{kind}: stop() with two endless event streams took {stop_took * 1000:.0f} ms")
