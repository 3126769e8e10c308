"""The public API under bad or unusual input, as a learner making typos or a quick experiment hits it.

Each test names the input; the claim is the same throughout: a clear error that says what was wrong,
raised at once (never a hang, never a bare ``AssertionError`` or ``KeyError`` from inside the client),
with the client still usable and no app task left running.
Bad input that one component answers is tested in its folder: endpoints/ (an endpoint mounted for the
wrong kind of connection), httpfile/, kernel/test_magics.py, live/.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from apps import Echo, Hello
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from task_census import running_tasks, settled_tasks

from playground import Client, HTTPEndpoint, serve

pytestmark = pytest.mark.anyio


class Hung(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


# -- timeouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [float("nan"), "5", -1, True])
def test_a_client_timeout_that_is_not_a_positive_number_is_refused(timeout: Any) -> None:
    # NaN passed the old 'timeout <= 0' check and made every wait endless: a hung app hung the kernel.
    with pytest.raises((ValueError, TypeError), match="timeout must be a positive number of seconds or None"):
        Client(Hello, timeout=timeout)


@pytest.mark.parametrize("timeout", [float("nan"), 0, -1, "1"])
async def test_a_per_call_timeout_that_is_not_a_positive_number_is_refused(timeout: Any) -> None:
    client = Client(Hung, grace=0.1)
    with anyio.fail_after(2):
        with pytest.raises((ValueError, TypeError), match="timeout must be a positive number of seconds or None"):
            await client.get("/", timeout=timeout)
        with pytest.raises((ValueError, TypeError), match="timeout must be a positive number of seconds"):
            async with client.stream("GET", "/", timeout=timeout):
                pass
        with pytest.raises((ValueError, TypeError), match="timeout must be a positive number of seconds"):
            client.websocket_connect("/", timeout=timeout)
    # Refused before the app was called: the client still works.
    assert (await Client(Hello).get("/")).text == "hello"


@pytest.mark.parametrize("grace", [float("nan"), -0.1, math.inf, None, "1", True])
def test_a_grace_that_is_not_a_number_of_seconds_is_refused(grace: Any) -> None:
    # None or infinity would let an app that ignores the client's leaving hold the caller forever.
    with pytest.raises((ValueError, TypeError), match=r"grace must be a number of seconds \(0 or more\)"):
        Client(Hello, grace=grace)


async def test_a_grace_of_zero_is_taken() -> None:
    assert (await Client(Hello, grace=0).get("/")).text == "hello"


@pytest.mark.parametrize("size", [0, -1, 1.5, "16", True])
def test_a_max_message_size_that_is_not_a_positive_number_of_bytes_is_refused(size: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="max_message_size must be a positive number of bytes or None"):
        Client(Echo, max_message_size=size)
    with pytest.raises((ValueError, TypeError), match="max_message_size must be a positive number of bytes"):
        Client("http://127.0.0.1:9", max_message_size=size)


def test_an_app_that_is_not_callable_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Client\(\) needs an ASGI app \(a callable\) or a URL string, got 42"):
        Client(42)


def test_a_lifespan_mode_that_is_not_one_of_the_three_is_refused() -> None:
    with pytest.raises(ValueError, match="lifespan must be 'auto', 'on' or 'off', got 'yes'"):
        Client(Hello, lifespan="yes")  # type: ignore[arg-type]


async def test_an_infinite_timeout_still_means_wait_without_a_bound() -> None:
    client = Client(Hello, timeout=math.inf)
    assert (await client.get("/", timeout=math.inf)).text == "hello"


@pytest.mark.parametrize("timeout", [float("nan"), 0, -1])
async def test_a_websocket_receive_timeout_that_is_not_a_positive_number_is_refused(timeout: float) -> None:
    with anyio.fail_after(2):
        async with Client(Echo).websocket_connect("/") as ws:
            with pytest.raises(ValueError, match="timeout must be a positive number of seconds or None"):
                await ws.receive_text(timeout=timeout)
            await ws.send_text("still open")
            assert await ws.receive_text() == "echo: still open"


# -- URLs, headers, bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://testserver/", "file:///etc/passwd", "mailto:someone@example.com"])
async def test_a_url_with_an_unsupported_scheme_says_so(url: str) -> None:
    # It used to be a KeyError: 'ftp' from deep inside the scope builder.
    client = Client(Hello)
    with pytest.raises(httpx.UnsupportedProtocol, match="http, https, ws or wss"):
        await client.get(url)
    with pytest.raises(httpx.UnsupportedProtocol, match="http, https, ws or wss"):
        client.websocket_connect(url)
    assert (await client.get("/")).text == "hello"


@pytest.mark.parametrize("where", ["call", "client", "websocket"])
async def test_a_non_ascii_header_value_names_the_header(where: str) -> None:
    headers = {"X-Name": "José"}
    with pytest.raises(ValueError, match=r"header 'X-Name'.*non-ASCII.*'José'.*encode"):
        if where == "client":
            Client(Hello, headers=headers)
        elif where == "call":
            await Client(Hello).get("/", headers=headers)
        else:
            Client(Echo).websocket_connect("/", headers=headers)


async def test_a_non_ascii_value_given_as_bytes_reaches_the_app() -> None:
    class Show(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse(request.headers["x-name"].encode("latin-1").decode())

    r = await Client(Show).get("/", headers={"X-Name": "José".encode()})
    assert r.text == "José"


@pytest.mark.parametrize(
    "make", [lambda: bytearray(b"abc"), lambda: memoryview(b"abc"), lambda: (part for part in [b"a", b"bc"]),
             lambda: iter([b"abc"])],
    ids=["bytearray", "memoryview", "generator", "iterator"],
)
async def test_a_body_of_bytes_like_or_a_sync_iterable_is_sent(make: Any) -> None:
    # httpx reads these only synchronously: the client's 'await request.aread()' failed on a bare
    # AssertionError (and a bytearray was iterated as integers).
    r = await Client(Hello).post("/", content=make())
    assert r.text == "abc"


async def test_a_sync_iterable_body_in_a_stream() -> None:
    async with Client(Hello).stream("POST", "/", content=(part for part in [b"a", b"bc"])) as r:
        assert await r.aread() == b"abc"


# -- lifespan -------------------------------------------------------------------------------------


def lifespan_app() -> tuple[Starlette, list[str]]:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    return Starlette(lifespan=lifespan), events


async def test_starting_a_started_client_again_is_refused_and_leaks_no_lifespan() -> None:
    baseline = running_tasks()
    app, events = lifespan_app()
    client = Client(app)
    await client.startup()
    with pytest.raises(RuntimeError, match="already running"):
        await client.startup()
    with pytest.raises(RuntimeError, match="already running"):
        async with client:
            pass
    await client.aclose()
    assert events == ["startup", "shutdown"]
    assert await settled_tasks(baseline) == baseline
    # Closed, it can start again.
    async with client:
        pass
    assert events == ["startup", "shutdown", "startup", "shutdown"]


# -- WebSocket sessions used in the wrong order -----------------------------------------------------


async def test_connecting_a_session_twice_is_refused_and_leaves_it_working() -> None:
    baseline = running_tasks()
    client = Client(Echo, timeout=1)
    with anyio.fail_after(2):
        ws = await client.websocket_connect("/")
        with pytest.raises(RuntimeError, match="already connected"):
            await ws
        with pytest.raises(RuntimeError, match="already connected"):
            async with ws:
                pass
        await ws.send_text("one app, one session")
        assert await ws.receive_text() == "echo: one app, one session"
        await ws.close()
    assert ws.close_code == 1000
    assert await settled_tasks(baseline) == baseline


async def test_closing_a_session_that_never_connected_does_not_wait() -> None:
    baseline = running_tasks()
    client = Client(Echo, timeout=1)
    ws = client.websocket_connect("/")
    with anyio.fail_after(0.5):  # it used to wait out the timeout and the grace, then raise AppTimeout
        await ws.close()
        await ws.close()
    assert ws.closed
    with pytest.raises(RuntimeError, match="closed before it was connected"):
        await ws
    assert await settled_tasks(baseline) == baseline


async def test_subprotocols_given_as_one_string_are_refused() -> None:
    # A str is a sequence too: 'chat' went out as the four subprotocols 'c', 'h', 'a', 't'.
    with pytest.raises(TypeError, match=r"subprotocols takes a list of names.*\['chat'\]"):
        Client(Echo).websocket_connect("/", subprotocols="chat")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "error"),
    [("hello", TypeError), ({"type": "websocket.receive"}, ValueError),
     ({"type": "websocket.receive", "text": 5}, TypeError), ({"type": "websocket.receive", "bytes": "x"}, TypeError)],
    ids=["a-str", "neither-text-nor-bytes", "text-not-str", "bytes-not-bytes"],
)
async def test_a_malformed_raw_message_is_refused_before_the_app_sees_it(message: Any, error: type[Exception]) -> None:
    async with Client(Echo, timeout=1).websocket_connect("/") as ws:
        with pytest.raises(error, match=r"websocket\.receive"):
            await ws.send(message)
        await ws.send_text("still fine")
        assert await ws.receive_text() == "echo: still fine"


@pytest.mark.parametrize("code", ["1000", 999, 5000, 1.5])
async def test_a_close_code_outside_the_websocket_range_is_refused(code: Any) -> None:
    async with Client(Echo, timeout=1).websocket_connect("/") as ws:
        with pytest.raises((TypeError, ValueError), match="close code"):
            await ws.close(code=code)
        await ws.send_text("still open")
        assert await ws.receive_text() == "echo: still open"
    assert ws.close_code == 1000


# -- headers no HTTP client may send --------------------------------------------------------------

ILLEGAL_HEADERS = [
    ({"x-note": "a\r\nx-admin: 1"}, "Illegal header value b'a\\r\\nx-admin: 1'"),  # a smuggled header
    ({"x-note": "a\nb"}, "Illegal header value b'a\\nb'"),
    ({"x-note": "a\x00b"}, "Illegal header value b'a\\x00b'"),
    ({"x-note": " padded"}, "Illegal header value b' padded'"),
    ({"x note": "v"}, "Illegal header name b'x note'"),
    ({"x:note": "v"}, "Illegal header name b'x:note'"),
]


@pytest.mark.parametrize(("headers", "message"), ILLEGAL_HEADERS)
async def test_a_header_no_client_may_send_is_refused_in_process_as_live(
    anyio_backend: str, headers: dict[str, str], message: str
) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        await PlainTextResponse("hello")(scope, receive, send)

    client = Client(app)
    with pytest.raises(httpx.LocalProtocolError) as in_process:
        await client.get("/", headers=headers)
    with pytest.raises(httpx.LocalProtocolError) as in_process_ws:
        async with client.websocket_connect("/", headers=headers):
            pass
    assert str(in_process.value) == str(in_process_ws.value) == message
    assert seen == []  # the app never saw it
    assert (await client.get("/", headers={"x-note": "fine, with inner  spaces"})).text == "hello"

    if anyio_backend == "asyncio":  # serve() runs uvicorn, which runs on asyncio only
        async with serve(app) as server:
            live = Client(server.url, timeout=2)
            with pytest.raises(httpx.LocalProtocolError) as over_the_network:
                await live.get("/", headers=headers)
            await live.aclose()
        assert str(over_the_network.value) == message


# -- something that is not an ASGI app ---------------------------------------------------------------


def sync_app(scope: Any, receive: Any, send: Any) -> None:
    """A learner's first try: right arguments, but not ``async def``."""


class NotAwaitable:
    def __init__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


@pytest.mark.parametrize(("app", "name"), [(sync_app, "sync_app"), (NotAwaitable, "NotAwaitable")])
async def test_an_app_that_is_not_async_says_an_asgi_app_must_be(app: Any, name: str) -> None:
    baseline = running_tasks()
    client = Client(app)
    with pytest.raises(TypeError, match=rf"^{name}\(scope, receive, send\) did not return an awaitable .*"
                       r"an ASGI app is an 'async def' function"):
        await client.get("/")
    with pytest.raises(TypeError, match="did not return an awaitable"):
        async with client.websocket_connect("/"):
            pass
    response = await Client(app, raise_app_exceptions=False).get("/")
    assert response.status_code == 500
    assert "did not return an awaitable" in str(response.app_exception)
    assert await settled_tasks(baseline) == baseline


async def test_a_type_error_inside_the_app_is_left_as_it_is() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await None  # type: ignore[misc]  # the app's own mistake, on its own line

    with pytest.raises(TypeError, match=r"^object NoneType can't be used in 'await' expression$"):
        await Client(app).get("/")
