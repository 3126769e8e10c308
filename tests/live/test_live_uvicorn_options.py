"""``serve()`` with uvicorn's newer options: every HTTP protocol keeps stop()'s promise or is refused by
name, and ``reset_contextvars`` still routes each line to ``server.logs``."""

from __future__ import annotations

import asyncio
import socket

import anyio
import httpx
import pytest
from apps import boom, events
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from playground import serve
from playground._private_api import uvicorn_http_protocols

pytestmark = pytest.mark.anyio
HTTP_PROTOCOLS = sorted(uvicorn_http_protocols())


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/events", events), Route("/hello", hello), Route("/boom", boom)])


def test_zttp_is_among_the_protocols_checked() -> None:
    pytest.importorskip("zttp", reason="zttp is in the test extra; without it uvicorn has no http='zttp'")
    assert "zttp" in HTTP_PROTOCOLS and "h11" in HTTP_PROTOCOLS


@pytest.mark.parametrize("http", HTTP_PROTOCOLS)
async def test_stop_ends_a_stream_with_every_http_protocol_it_knows(http: str) -> None:
    server = await serve(app, http=http)
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(server.url + "/hello")).text == "hello"
        async with client.stream("GET", server.url + "/events") as response:
            chunks = response.aiter_bytes()
            assert (await anext(chunks)).startswith(b"data: 0")
            with anyio.fail_after(3):  # uvicorn's graceful period alone would take 1 s, then cancel
                await server.stop()
            with pytest.raises(httpx.RemoteProtocolError):
                async for _ in chunks:
                    pass
    assert any(line.endswith('"GET /events HTTP/1.1" cut short: the server is shutting down')
               for line in server.logs)
    assert [line for line in server.logs if line.startswith(("ERROR", "WARNING"))] == []


async def test_an_http_protocol_it_does_not_know_is_refused_by_name() -> None:
    class OwnProtocol(asyncio.Protocol):
        pass

    with pytest.raises(ValueError, match=r"cannot run uvicorn's HTTP protocol 'OwnProtocol'.*pass http="):
        await serve(app, http=OwnProtocol)
    if "zttp" in HTTP_PROTOCOLS:
        with pytest.raises(ValueError, match=r"'zttp with http2=True'.*pass http="):
            await serve(app, http="zttp", http2=True)
    # Nothing was left listening or routed: a normal server starts and stops as ever.
    async with serve(app) as server, httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(server.url + "/hello")).text == "hello"


async def test_a_refused_protocol_leaves_the_port_free() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ValueError):
        await serve(app, port=port, http=type("Other", (asyncio.Protocol,), {}))
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # would fail if the listener had been left open


@pytest.mark.parametrize("http", [p for p in HTTP_PROTOCOLS if p != "httptools"])  # httptools lacks it
async def test_reset_contextvars_keeps_the_logs_in_server_logs(
    http: str, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    async with serve(app, http=http, reset_contextvars=True) as server:
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(server.url + "/hello")).status_code == 200
            assert (await client.get(server.url + "/boom")).status_code == 500
    text = "\n".join(server.logs)
    assert '"GET /hello HTTP/1.1" 200' in text
    assert "Exception in ASGI application" in text and "ValueError: boom in the app" in text
    assert capfd.readouterr() == ("", "")


async def test_stop_tells_an_app_that_only_sends_behind_uvicorns_middlewares() -> None:
    """At ``log_level="trace"`` uvicorn puts its message logger between the connection and the app, and a
    proxy's ``X-Forwarded-For`` makes its proxy-headers middleware rewrite the client: the app that only
    sends still hears of stop() from its next send (an OSError), within uvicorn's graceful period."""
    ended: list[str] = []

    async def only_sends(scope: dict, receive: object, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while True:
                await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
                await asyncio.sleep(0.01)
        except OSError as exc:
            ended.append(type(exc).__name__)
            raise

    server = await serve(only_sends, log_level="trace")
    async with httpx.AsyncClient(trust_env=False) as client:
        async with client.stream("GET", server.url + "/ticks", headers={"x-forwarded-for": "10.1.2.3"}) as response:
            chunks = response.aiter_bytes()  # kept: a dropped iterator would close the connection
            assert (await anext(chunks)).startswith(b"tick")
            with anyio.fail_after(3):
                await server.stop()
            with pytest.raises(httpx.RemoteProtocolError):
                async for _ in chunks:
                    pass
    assert ended == ["ClientDisconnected"]
    assert any(line.startswith("INFO: 10.1.2.3:0 - ") and line.endswith(
        '"GET /ticks HTTP/1.1" cut short: the server is shutting down') for line in server.logs)
    assert [line for line in server.logs if line.startswith(("ERROR", "WARNING"))] == []
