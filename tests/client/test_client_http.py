"""The in-process Client over HTTP: httpx's request arguments in, an httpx.Response out, and what a
real server would add (cookies, HEAD without a body, redirects, extensions, the app's own errors)."""

from __future__ import annotations

import gzip
import json
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest
from apps import Hello
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from playground import Client, HTTPEndpoint
from playground import Response as PlaygroundResponse

pytestmark = pytest.mark.anyio


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app answering with what it was asked, as JSON."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    payload = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "headers": headers,
        "body": body.decode("latin-1"),
    }
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


@pytest.mark.parametrize("method", ["get", "head", "post", "put", "patch", "delete", "options"])
async def test_each_verb_reaches_the_app_and_returns_an_httpx_response(method: str) -> None:
    client = Client(echo)
    response = await getattr(client, method)("/items/1")
    assert isinstance(response, httpx.Response)
    assert isinstance(response, PlaygroundResponse)
    assert response.status_code == 200
    assert response.request.method == method.upper()
    if method == "head":
        assert response.content == b""
        assert response.trace is not None and response.trace.scope["method"] == "HEAD"
    else:
        assert response.json()["method"] == method.upper()
        assert response.json()["path"] == "/items/1"


async def test_request_with_a_new_method() -> None:
    response = await Client(echo).request("QUERY", "/search", content=b"name = 'tom'")
    assert response.json()["method"] == "QUERY"
    assert response.json()["body"] == "name = 'tom'"


async def test_a_query_endpoint_dispatches_query() -> None:
    class Search(HTTPEndpoint):
        async def query(self, request: Request) -> Response:
            return PlainTextResponse(f"searched {(await request.body()).decode()}")

    response = await Client(Search).request("QUERY", "/", content=b"x")
    assert response.status_code == 200
    assert response.text == "searched x"


async def test_params_headers_and_cookies() -> None:
    client = Client(echo)
    response = await client.get(
        "/p?fixed=1", params={"a": "1", "b": ["2", "3"]}, headers={"X-Custom": "yes"}, cookies={"flavour": "oat"}
    )
    seen = response.json()
    # As in httpx 0.28, ``params`` replaces the query written in the URL.
    assert seen["query"] == "a=1&b=2&b=3"
    assert response.request.url.query == b"a=1&b=2&b=3"
    assert seen["headers"]["x-custom"] == ["yes"]
    assert seen["headers"]["cookie"] == ["flavour=oat"]
    assert seen["headers"]["host"] == ["testserver"]


async def test_client_headers_merge_with_request_headers() -> None:
    client = Client(echo, headers={"Authorization": "Bearer t", "X-Both": "client"})
    seen = (await client.get("/", headers={"X-Both": "request"})).json()["headers"]
    assert seen["authorization"] == ["Bearer t"]
    assert seen["x-both"] == ["request"]


async def test_json_content_and_form_data() -> None:
    client = Client(echo)
    seen = (await client.post("/", json={"name": "tom", "n": [1, 2]})).json()
    assert json.loads(seen["body"]) == {"name": "tom", "n": [1, 2]}
    assert seen["headers"]["content-type"] == ["application/json"]

    seen = (await client.put("/", content=b"\x00raw bytes")).json()
    assert seen["body"] == "\x00raw bytes"
    assert seen["headers"]["content-length"] == ["10"]

    seen = (await client.patch("/", data={"a": "1", "b": "x y"})).json()
    assert seen["body"] == "a=1&b=x+y"
    assert seen["headers"]["content-type"] == ["application/x-www-form-urlencoded"]


async def test_multipart_files_reach_starlette_form() -> None:
    class Upload(HTTPEndpoint):
        async def post(self, request: Request) -> Response:
            form = await request.form()
            upload = form["file"]
            assert not isinstance(upload, str)
            return JSONResponse({"field": form["field"], "name": upload.filename,
                                 "type": upload.content_type, "data": (await upload.read()).decode()})

    response = await Client(Upload).post(
        "/", data={"field": "value"}, files={"file": ("notes.txt", b"hello file", "text/plain")}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"field": "value", "name": "notes.txt", "type": "text/plain", "data": "hello file"}
    assert response.request.headers["content-type"].startswith("multipart/form-data; boundary=")


async def test_cookies_persist_across_requests() -> None:
    async def login(request: Request) -> Response:
        response = PlainTextResponse("welcome")
        response.set_cookie("session", "abc123")
        return response

    async def me(request: Request) -> Response:
        return JSONResponse(dict(request.cookies))

    async def logout(request: Request) -> Response:
        response = PlainTextResponse("bye")
        response.delete_cookie("session")
        return response

    client = Client(Starlette(routes=[Route("/login", login), Route("/me", me), Route("/logout", logout)]))
    assert (await client.get("/me")).json() == {}
    await client.get("/login")
    assert client.cookies.get("session") == "abc123"
    assert (await client.get("/me")).json() == {"session": "abc123"}
    # A per-request cookie adds to the jar's for that request only.
    assert (await client.get("/me", cookies={"extra": "1"})).json() == {"session": "abc123", "extra": "1"}
    assert (await client.get("/me")).json() == {"session": "abc123"}
    await client.get("/logout")
    assert (await client.get("/me")).json() == {}


async def test_head_has_no_body_even_when_the_app_sends_one() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"11")]})
        await send({"type": "http.response.body", "body": b"hello world"})

    client = Client(app)
    response = await client.head("/")
    assert response.content == b""
    assert response.headers["content-length"] == "11"
    # The app did send it: the trace shows what happened, the response what a client gets.
    assert response.trace is not None
    assert response.trace[-1].message["body"] == b"hello world"
    async with client.stream("HEAD", "/") as streamed:
        assert [chunk async for chunk in streamed.aiter_bytes()] == []
    # A Starlette endpoint's HEAD falls back to get and still has no body.
    response = await Client(Hello).head("/")
    assert response.status_code == 200 and response.content == b"" and response.headers["content-length"] == "5"


async def test_base_url_and_absolute_urls() -> None:
    client = Client(echo, base_url="https://example.org/api")
    response = await client.get("users")
    assert response.json()["path"] == "/api/users"
    assert response.json()["headers"]["host"] == ["example.org"]
    assert str(response.request.url) == "https://example.org/api/users"
    assert response.trace is not None and response.trace.scope["scheme"] == "https"
    assert (await client.get("/users")).json()["path"] == "/api/users"

    response = await client.get("http://other.test:8080/x?y=1")
    assert str(response.request.url) == "http://other.test:8080/x?y=1"
    assert response.json()["path"] == "/x"
    assert response.json()["headers"]["host"] == ["other.test:8080"]
    assert response.trace is not None and response.trace.scope["server"] == ("other.test", 8080)


def redirecting_app() -> Starlette:
    async def start(request: Request) -> Response:
        return RedirectResponse("/middle", status_code=302)

    async def middle(request: Request) -> Response:
        response = RedirectResponse("/end?from=middle", status_code=307)
        response.set_cookie("hopped", "yes")
        return response

    async def end(request: Request) -> Response:
        return JSONResponse({"method": request.method, "query": str(request.query_params),
                             "cookies": dict(request.cookies), "body": (await request.body()).decode()})

    async def see_other(request: Request) -> Response:
        return RedirectResponse("/end", status_code=303)

    return Starlette(routes=[
        Route("/start", start, methods=["GET", "POST"]),
        Route("/middle", middle, methods=["GET", "POST"]),
        Route("/end", end, methods=["GET", "POST"]),
        Route("/see-other", see_other, methods=["POST"]),
    ])


async def test_redirects_are_not_followed_by_default() -> None:
    response = await Client(redirecting_app()).get("/start")
    assert response.status_code == 302
    assert response.headers["location"] == "/middle"
    assert response.history == []


async def test_follow_redirects_keeps_the_hops_in_history() -> None:
    client = Client(redirecting_app(), follow_redirects=True)
    response = await client.get("/start")
    assert response.status_code == 200
    assert response.json() == {"method": "GET", "query": "from=middle", "cookies": {"hopped": "yes"}, "body": ""}
    assert [r.status_code for r in response.history] == [302, 307]
    assert [r.request.url.path for r in response.history] == ["/start", "/middle"]
    assert str(response.url) == "http://testserver/end?from=middle"
    assert all(isinstance(r, PlaygroundResponse) and r.trace is not None for r in response.history)


async def test_follow_redirects_per_call_and_method_rules() -> None:
    client = Client(redirecting_app())
    # 302 after POST becomes GET without the body; 307 keeps method and body.
    response = await client.post("/start", content=b"payload", follow_redirects=True)
    assert response.json()["method"] == "GET" and response.json()["body"] == ""
    response = await client.post("/middle", content=b"payload", follow_redirects=True)
    assert response.json()["method"] == "POST" and response.json()["body"] == "payload"
    response = await client.post("/see-other", content=b"payload", follow_redirects=True)
    assert response.json()["method"] == "GET"
    assert (await client.get("/start")).status_code == 302  # the client default is still off


async def test_too_many_redirects() -> None:
    async def loop(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await RedirectResponse("/again")(scope, receive, send)

    with pytest.raises(httpx.TooManyRedirects):
        await Client(loop, follow_redirects=True).get("/")


class Boom(Exception):
    pass


def crash_in_handler(request: Request) -> Response:
    raise Boom("the handler failed")


class Crashing(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        raise Boom("endpoint failed")


async def test_app_exception_is_raised_with_its_own_traceback() -> None:
    with pytest.raises(Boom, match="endpoint failed") as info:
        await Client(Crashing).get("/")
    assert not isinstance(info.value, BaseExceptionGroup)
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "get" in names  # the handler's own frame
    assert names[-1] == "get"


async def test_app_exception_through_a_starlette_app_and_a_sync_handler() -> None:
    app = Starlette(routes=[Route("/", crash_in_handler)])
    with pytest.raises(Boom, match="the handler failed") as info:
        await Client(app).get("/")
    assert not isinstance(info.value, BaseExceptionGroup)
    frames = traceback.extract_tb(info.value.__traceback__)
    assert frames[-1].name == "crash_in_handler"
    assert frames[-1].filename == __file__


async def test_raise_app_exceptions_false_gives_a_500_with_the_exception() -> None:
    response = await Client(Crashing, raise_app_exceptions=False).get("/")
    assert response.status_code == 500
    assert isinstance(response.app_exception, Boom)
    assert str(response.app_exception) == "endpoint failed"
    assert response.trace is not None and response.trace.outcome == "raised Boom"

    # Inside Starlette, ServerErrorMiddleware sends its own 500 first; the exception is still attached.
    response = await Client(Starlette(routes=[Route("/", crash_in_handler)]), raise_app_exceptions=False).get("/")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert isinstance(response.app_exception, Boom)


async def test_a_successful_response_carries_no_exception() -> None:
    response = await Client(echo, raise_app_exceptions=False).get("/")
    assert response.status_code == 200
    assert response.app_exception is None


async def test_the_trace_lists_the_messages_in_order() -> None:
    response = await Client(echo).post("/", content=b"abc")
    trace = response.trace
    assert trace is not None
    assert trace.types == ["http.request", "http.response.start", "http.response.body"]
    assert [event.direction for event in trace] == ["receive", "send", "send"]
    assert trace[0].message == {"type": "http.request", "body": b"abc", "more_body": False}
    assert trace[1].message["status"] == 200
    offsets = [event.offset for event in trace]
    assert offsets == sorted(offsets) and offsets[0] >= 0
    assert trace.outcome == "returned"
    assert trace.duration >= offsets[-1]
    assert trace.scope["type"] == "http" and trace.scope["path"] == "/"
    assert response.elapsed.total_seconds() >= 0


async def test_a_streamed_body_is_traced_chunk_by_chunk() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a", b"b", b"c"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    response = await Client(app).get("/")
    assert response.content == b"abc"
    assert response.trace is not None
    assert [e.message.get("body") for e in response.trace][1:] == [b"a", b"b", b"c", b""]


async def test_early_hints_land_on_the_response() -> None:
    class Page(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            await request.send_early_hints("</style.css>; rel=preload; as=style", "</app.js>; rel=preload")
            return PlainTextResponse("page")

    response = await Client(Page).get("/")
    assert response.text == "page"
    assert response.early_hints == [b"</style.css>; rel=preload; as=style", b"</app.js>; rel=preload"]
    assert response.trace is not None and response.trace.types[0] == "http.response.early_hint"
    assert (await Client(echo).get("/")).early_hints == []


async def test_trailers() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"trailer", b"x-checksum")],
                    "trailers": True})
        await send({"type": "http.response.body", "body": b"data"})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"42")]})

    response = await Client(app).get("/")
    assert response.content == b"data"
    assert response.trailers == [(b"x-checksum", b"42")]
    assert response.trace is not None and response.trace.types[-1] == "http.response.trailers"
    async with Client(app).stream("GET", "/") as streamed:
        assert await streamed.aread() == b"data"
    assert streamed.trailers == [(b"x-checksum", b"42")]


async def test_template_debug_info(tmp_path: Path) -> None:
    from starlette.templating import Jinja2Templates  # jinja2 is in the test extra

    (tmp_path / "hello.html").write_text("<p>Hello {{ name }}</p>")
    templates = Jinja2Templates(directory=tmp_path)

    class Page(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return templates.TemplateResponse(request, "hello.html", {"name": "tom"})

    response = await Client(Page).get("/")
    assert response.text == "<p>Hello tom</p>"
    assert response.template is not None and response.template.name == "hello.html"
    assert response.context is not None and response.context["name"] == "tom"
    assert isinstance(response.context["request"], Request)
    assert (await Client(echo).get("/")).template is None


async def test_gzip_middleware_response_is_decoded() -> None:
    text = "ASGI all the way down. " * 100

    async def big(request: Request) -> Response:
        return PlainTextResponse(text)

    client = Client(Starlette(routes=[Route("/", big)], middleware=[Middleware(GZipMiddleware, minimum_size=100)]))
    response = await client.get("/")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == text
    assert response.trace is not None
    sent = b"".join(e.message.get("body", b"") for e in response.trace if e.message["type"] == "http.response.body")
    assert gzip.decompress(sent).decode() == text  # the trace holds the bytes as sent
    # Without accept-encoding: gzip the app sends it plain.
    plain = await client.get("/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == text


async def test_history_keeps_the_latest_exchanges() -> None:
    client = Client(echo, history=3)
    for n in range(5):
        await client.get(f"/{n}")
    assert [r.request.url.path for r in client.history] == ["/2", "/3", "/4"]


async def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="ASGI app"):
        Client(42)
    with pytest.raises(ValueError, match="timeout"):
        Client(echo, timeout=0)
    with pytest.raises(ValueError, match="lifespan"):
        Client(echo, lifespan="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method"):
        await Client(echo).request("", "/")


async def test_the_method_is_sent_exactly_as_given() -> None:
    # Methods are case-sensitive tokens: a lower-case 'get' is not GET, and an endpoint answers 405.
    from starlette.responses import PlainTextResponse

    from playground import HTTPEndpoint

    class Page(HTTPEndpoint):
        async def get(self, request: object) -> PlainTextResponse:
            return PlainTextResponse("page")

    client = Client(Page)
    response = await client.request("get", "/")
    assert response.request.method == "get" == response.trace.scope["method"]
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert (await client.request("GET", "/")).status_code == 200


@pytest.mark.parametrize("method", ["", "GET /", "GE\nT", "GÉT", None])
async def test_a_method_that_is_not_a_token_is_refused(method: object) -> None:
    with pytest.raises(ValueError, match="HTTP token"):
        await Client(echo).request(method, "/")  # type: ignore[arg-type]
