"""playground.HTTPEndpoint driven with raw ASGI messages: dispatch, 405, threads and ``send``.

Each behaviour is the one Starlette 1.10's ``starlette.endpoints.HTTPEndpoint`` has; the endpoints run
as bare ASGI apps and inside ``Route``, ``Router`` and ``Starlette``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from apps import Hello
from asgi_driver import ApplicationCommunicator, http_request, http_scope, run
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, Router

from playground import Client
from playground.endpoints import HTTP_METHODS, HTTPEndpoint

pytestmark = pytest.mark.anyio

ALL_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, QUERY"


def start_of(transcript_sent: list[dict[str, Any]]) -> dict[str, Any]:
    return next(message for message in transcript_sent if message["type"] == "http.response.start")


def headers_of(start: dict[str, Any]) -> dict[bytes, bytes]:
    return dict(start["headers"])


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")


class Everything(HTTPEndpoint):
    """A handler for every verb, defined out of order: the Allow header order must not follow it."""

    async def query(self, request: Request) -> Response:
        return PlainTextResponse(f"QUERY {(await request.body()).decode()}")

    async def options(self, request: Request) -> Response:
        return PlainTextResponse("OPTIONS")

    async def delete(self, request: Request) -> Response:
        return PlainTextResponse("DELETE")

    async def patch(self, request: Request) -> Response:
        return PlainTextResponse("PATCH")

    async def put(self, request: Request) -> Response:
        return PlainTextResponse("PUT")

    async def post(self, request: Request) -> Response:
        return PlainTextResponse(f"POST {(await request.body()).decode()}")

    async def head(self, request: Request) -> Response:
        return PlainTextResponse("HEAD", headers={"x-handler": "head"})

    async def get(self, request: Request) -> Response:
        return PlainTextResponse("GET")


class GetOnly(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse("from get", headers={"x-handler": "get"})


class HeadOnly(HTTPEndpoint):
    async def head(self, request: Request) -> Response:
        return Response(headers={"x-handler": "head"})


class PostOnly(HTTPEndpoint):
    async def post(self, request: Request) -> Response:
        return PlainTextResponse("posted")


# --- allowed methods and dispatch -------------------------------------------------------------------


async def test_allow_header_lists_every_method_in_fixed_order_whatever_the_definition_order() -> None:
    assert Everything.allowed_methods() == list(HTTP_METHODS)
    transcript = await run(Everything, http_scope("TRACE"), [http_request()])
    start = start_of(transcript.sent)
    assert start["status"] == 405
    assert headers_of(start)[b"allow"] == ALL_METHODS.encode()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY"])
async def test_each_verb_dispatches_to_its_lower_case_handler(method: str) -> None:
    transcript = await run(Everything, http_scope(method), [http_request(b"payload")])
    assert transcript.exception is None
    assert start_of(transcript.sent)["status"] == 200
    expected = f"{method} payload" if method in ("POST", "QUERY") else method
    assert body_of(transcript.sent) == expected.encode()


async def test_query_method_reads_its_body_in_chunks() -> None:
    async with ApplicationCommunicator(Everything, http_scope("QUERY")) as app_io:
        await app_io.send_input(http_request(b"select ", more_body=True))
        assert await app_io.receive_nothing()  # the handler is still reading the body
        await app_io.send_input(http_request(b"*"))
        start = await app_io.receive_output()
        body = await app_io.receive_output()
        await app_io.wait()
    assert start["status"] == 200
    assert body["body"] == b"QUERY select *"


async def test_head_falls_back_to_get_when_there_is_no_head_handler() -> None:
    assert GetOnly.allowed_methods() == ["GET", "HEAD"]
    transcript = await run(GetOnly, http_scope("HEAD"), [http_request()])
    start = start_of(transcript.sent)
    assert start["status"] == 200
    assert headers_of(start)[b"x-handler"] == b"get"
    # The endpoint sends get's body; dropping it for HEAD is the server's job, as in Starlette.
    assert body_of(transcript.sent) == b"from get"


async def test_head_uses_its_own_handler_when_there_is_one() -> None:
    transcript = await run(Everything, http_scope("HEAD"), [http_request()])
    assert headers_of(start_of(transcript.sent))[b"x-handler"] == b"head"


async def test_head_alone_allows_only_head() -> None:
    assert HeadOnly.allowed_methods() == ["HEAD"]
    transcript = await run(HeadOnly, http_scope("GET"), [http_request()])
    start = start_of(transcript.sent)
    assert start["status"] == 405
    assert headers_of(start)[b"allow"] == b"HEAD"
    transcript = await run(HeadOnly, http_scope("HEAD"), [http_request()])
    assert start_of(transcript.sent)["status"] == 200


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "get", "Get", "_DO_DELETE", "DISPATCH", "INIT"])
async def test_only_the_listed_verbs_dispatch(method: str) -> None:
    called: list[str] = []

    class Tempting(Everything):
        # Methods a careless dispatcher could reach by lower-casing any verb.
        async def trace(self, request: Request) -> Response:
            called.append("trace")
            return PlainTextResponse("trace")

        async def connect(self, request: Request) -> Response:
            called.append("connect")
            return PlainTextResponse("connect")

        async def _do_delete(self, request: Request) -> Response:
            called.append("_do_delete")
            return PlainTextResponse("_do_delete")

    transcript = await run(Tempting, http_scope(method), [http_request()])
    start = start_of(transcript.sent)
    assert start["status"] == 405
    assert headers_of(start)[b"allow"] == ALL_METHODS.encode()
    assert called == []


async def test_a_handler_set_to_none_is_not_allowed() -> None:
    class NoPost(Everything):
        post = None  # type: ignore[assignment]

    assert "POST" not in NoPost.allowed_methods()
    transcript = await run(NoPost, http_scope("POST"), [http_request()])
    assert start_of(transcript.sent)["status"] == 405


async def test_handlers_are_inherited() -> None:
    class Child(PostOnly):
        pass

    transcript = await run(Child, http_scope("POST"), [http_request()])
    assert body_of(transcript.sent) == b"posted"


# --- 405 ------------------------------------------------------------------------------------------


async def test_405_outside_a_starlette_app_is_a_plain_text_response() -> None:
    transcript = await run(PostOnly, http_scope("GET"), [http_request()])
    assert transcript.exception is None
    assert transcript.sent == [
        {
            "type": "http.response.start",
            "status": 405,
            "headers": [
                (b"allow", b"POST"),
                (b"content-length", b"18"),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        },
        {"type": "http.response.body", "body": b"Method Not Allowed"},
    ]


async def test_405_joins_allowed_methods_with_comma_space() -> None:
    class GetAndPost(GetOnly, PostOnly):
        pass

    transcript = await run(GetAndPost, http_scope("DELETE"), [http_request()])
    assert headers_of(start_of(transcript.sent))[b"allow"] == b"GET, HEAD, POST"


async def test_405_with_no_handlers_has_an_empty_allow_header() -> None:
    class Nothing(HTTPEndpoint):
        pass

    transcript = await run(Nothing, http_scope("GET"), [http_request()])
    start = start_of(transcript.sent)
    assert start["status"] == 405
    assert headers_of(start)[b"allow"] == b""


async def test_405_inside_a_router_without_an_app_is_still_a_response() -> None:
    for app in (Route("/", PostOnly), Router(routes=[Route("/", PostOnly)])):
        transcript = await run(app, http_scope("GET"), [http_request()])
        assert transcript.exception is None
        start = start_of(transcript.sent)
        assert (start["status"], headers_of(start)[b"allow"]) == (405, b"POST")
        assert body_of(transcript.sent) == b"Method Not Allowed"


async def test_405_with_app_in_scope_raises_http_exception_with_the_allow_header() -> None:
    scope = http_scope("GET") | {"app": object()}
    transcript = await run(PostOnly, scope, [http_request()])
    assert transcript.sent == []
    assert isinstance(transcript.exception, HTTPException)
    assert transcript.exception.status_code == 405
    assert transcript.exception.headers == {"Allow": "POST"}
    assert transcript.exception.detail == "Method Not Allowed"


async def test_405_inside_starlette_goes_through_the_default_exception_handler() -> None:
    app = Starlette(routes=[Route("/", PostOnly)])
    transcript = await run(app, http_scope("GET"), [http_request()])
    assert transcript.exception is None
    start = start_of(transcript.sent)
    assert start["status"] == 405
    assert headers_of(start)[b"allow"] == b"POST"
    assert body_of(transcript.sent) == b"Method Not Allowed"


@pytest.mark.parametrize("key", [405, HTTPException])
async def test_405_inside_starlette_is_shaped_by_a_custom_exception_handler(key: int | type[Exception]) -> None:
    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"error": exc.detail, "method": request.method}, status_code=exc.status_code, headers=exc.headers
        )

    app = Starlette(routes=[Route("/", GetOnly)], exception_handlers={key: problem})
    transcript = await run(app, http_scope("PATCH"), [http_request()])
    start = start_of(transcript.sent)
    assert start["status"] == 405
    assert headers_of(start)[b"allow"] == b"GET, HEAD"
    assert headers_of(start)[b"content-type"] == b"application/json"
    assert body_of(transcript.sent) == b'{"error":"Method Not Allowed","method":"PATCH"}'


async def test_method_not_allowed_can_be_overridden() -> None:
    class Polite(PostOnly):
        async def method_not_allowed(self, request: Request) -> Response:
            return JSONResponse({"try": self._allowed_methods}, status_code=405)

    for app in (Polite, Starlette(routes=[Route("/", Polite)])):
        transcript = await run(app, http_scope("GET"), [http_request()])
        assert transcript.exception is None
        assert start_of(transcript.sent)["status"] == 405
        assert body_of(transcript.sent) == b'{"try":["POST"]}'


async def test_a_sync_method_not_allowed_override_runs_in_a_thread() -> None:
    threads: list[int] = []

    class Sync(PostOnly):
        def method_not_allowed(self, request: Request) -> Response:  # type: ignore[override]
            threads.append(threading.get_ident())
            return PlainTextResponse("nope", status_code=418)

    transcript = await run(Sync, http_scope("GET"), [http_request()])
    assert start_of(transcript.sent)["status"] == 418
    assert threads and threads[0] != threading.get_ident()


# --- sync and async handlers ------------------------------------------------------------------------


class ThreadReporter(HTTPEndpoint):
    def get(self, request: Request) -> Response:
        return JSONResponse({"thread": threading.get_ident()})

    async def post(self, request: Request) -> Response:
        return JSONResponse({"thread": threading.get_ident()})


@pytest.mark.parametrize("wrap", ["bare", "route", "starlette"])
async def test_sync_handlers_run_in_a_worker_thread_and_async_ones_on_the_loop(wrap: str) -> None:
    app: Any = {
        "bare": ThreadReporter,
        "route": Route("/", ThreadReporter),
        "starlette": Starlette(routes=[Route("/", ThreadReporter)]),
    }[wrap]
    loop_thread = threading.get_ident()
    sync = await run(app, http_scope("GET"), [http_request()])
    asynchronous = await run(app, http_scope("POST"), [http_request()])
    assert json.loads(body_of(sync.sent))["thread"] != loop_thread
    assert json.loads(body_of(asynchronous.sent))["thread"] == loop_thread


async def test_sync_handler_can_block_without_blocking_the_loop() -> None:
    release = threading.Event()

    class Blocking(HTTPEndpoint):
        def get(self, request: Request) -> Response:
            release.wait(timeout=2)
            return PlainTextResponse("released")

    async with ApplicationCommunicator(Blocking, http_scope("GET")) as app_io:
        await app_io.send_input(http_request())
        # The loop keeps running while the handler blocks: this await returns.
        assert await app_io.receive_nothing(0.05)
        release.set()
        assert (await app_io.receive_output())["status"] == 200
        assert (await app_io.receive_output())["body"] == b"released"


async def test_async_callables_that_are_not_plain_coroutine_functions_are_awaited() -> None:
    loop_thread = threading.get_ident()

    class Handler:
        async def __call__(self, request: Request) -> Response:
            return PlainTextResponse(str(threading.get_ident() == loop_thread))

    class Callable(HTTPEndpoint):
        get = Handler()

    transcript = await run(Callable, http_scope("GET"), [http_request()])
    assert body_of(transcript.sent) == b"True"


# --- the request --------------------------------------------------------------------------------------


async def test_request_can_send_early_hints_when_the_server_offers_them() -> None:
    class Hints(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            await request.send_early_hints("</style.css>; rel=preload; as=style", "</app.js>; rel=preload")
            return PlainTextResponse("page")

    scope = http_scope("GET", extensions={"http.response.early_hint": {}})
    transcript = await run(Hints, scope, [http_request()])
    assert [message["type"] for message in transcript.sent] == [
        "http.response.early_hint",
        "http.response.start",
        "http.response.body",
    ]
    assert transcript.sent[0]["links"] == [b"</style.css>; rel=preload; as=style", b"</app.js>; rel=preload"]

    # Without the extension the hint is silently skipped, as Starlette does.
    transcript = await run(Hints, http_scope("GET"), [http_request()])
    assert [message["type"] for message in transcript.sent] == ["http.response.start", "http.response.body"]


async def test_request_exposes_path_params_and_query_through_a_route() -> None:
    class User(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse(f"{request.path_params['name']} {request.query_params['tab']}")

    app = Starlette(routes=[Route("/users/{name}", User)])
    transcript = await run(app, http_scope("GET", "/users/tom", query_string=b"tab=posts"), [http_request()])
    assert body_of(transcript.sent) == b"tom posts"


async def test_endpoint_keeps_scope_receive_and_send() -> None:
    seen: list[HTTPEndpoint] = []

    class Inspect(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            seen.append(self)
            assert request.scope is self.scope
            return PlainTextResponse("ok")

    scope = http_scope("GET")
    await run(Inspect, scope, [http_request()])
    assert seen[0].scope is scope
    assert callable(seen[0].receive) and callable(seen[0].send)


# --- failures ---------------------------------------------------------------------------------------


async def test_a_handler_exception_propagates_from_a_bare_endpoint() -> None:
    class Broken(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            raise LookupError("no such user")

    transcript = await run(Broken, http_scope("GET"), [http_request()])
    assert transcript.sent == []
    assert isinstance(transcript.exception, LookupError)
    assert str(transcript.exception) == "no such user"


async def test_a_handler_exception_inside_starlette_sends_500_then_reraises() -> None:
    class Broken(HTTPEndpoint):
        def get(self, request: Request) -> Response:
            raise LookupError("no such user")

    transcript = await run(Starlette(routes=[Route("/", Broken)]), http_scope("GET"), [http_request()])
    assert start_of(transcript.sent)["status"] == 500
    assert isinstance(transcript.exception, LookupError)


async def test_an_http_endpoint_refuses_a_websocket_scope() -> None:
    with pytest.raises(AssertionError):
        GetOnly({"type": "websocket"}, None, None)  # type: ignore[arg-type]


async def test_a_websocket_to_an_http_endpoint_says_what_went_wrong() -> None:
    with pytest.raises(AssertionError, match=r"Hello is an HTTPEndpoint.*'websocket' connection"):
        async with Client(Hello).websocket_connect("/"):
            pass
