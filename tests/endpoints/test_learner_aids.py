"""What playground's endpoints add to Starlette's for learners, and what they must not do.

- an unknown ``encoding`` fails when the class is defined (Starlette fails on the first message);
- a handler name that looks like a misspelt verb or hook warns, pointing at the class statement;
- ``allowed_methods()`` answers without a request;
- correct classes stay silent, and none of this changes how a request or a session is handled.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import starlette.endpoints
from asgi_driver import http_request, http_scope, run, websocket_scope
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket

import playground
from playground.endpoints import HTTP_METHODS, EndpointWarning, HTTPEndpoint, WebSocketEndpoint

pytestmark = pytest.mark.anyio


def class_statement_line(cls: type) -> int:
    """The line of ``class ...:`` itself (after any decorators)."""
    lines, start = inspect.getsourcelines(cls)
    return start + next(i for i, line in enumerate(lines) if line.lstrip().startswith("class "))


def handler_taking(arguments: int) -> Callable[..., Any]:
    """A method taking ``arguments`` after ``self``, as the handler it imitates does."""
    if arguments == 1:

        async def handler(self: Any, first: Any) -> None:
            pass

    else:

        async def handler(self: Any, first: Any, second: Any) -> None:
            pass

    return handler


@contextmanager
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- encoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "JSON", "binary", "", "str", 1, b"json"])
def test_an_unknown_encoding_fails_at_class_definition_naming_the_valid_ones(encoding: Any) -> None:
    with pytest.raises(ValueError) as raised:
        type("Chat", (WebSocketEndpoint,), {"encoding": encoding})
    message = str(raised.value)
    assert f"Chat.encoding = {encoding!r}" in message
    assert "None, 'text', 'bytes', 'json'" in message


def test_an_unknown_encoding_in_a_class_statement_fails_too() -> None:
    with pytest.raises(ValueError, match=r"Chat\.encoding = 'utf-8' is not a WebSocket encoding"):

        class Chat(WebSocketEndpoint):
            encoding = "utf-8"  # type: ignore[assignment]


@pytest.mark.parametrize("encoding", [None, "text", "bytes", "json"])
def test_every_valid_encoding_defines_quietly(encoding: str | None) -> None:
    with no_warnings():
        cls = type("Chat", (WebSocketEndpoint,), {"encoding": encoding})
    assert cls.encoding == encoding


def test_an_unknown_encoding_inherited_from_a_base_is_caught_at_the_subclass() -> None:
    class Base(WebSocketEndpoint):
        encoding = "text"

    Base.encoding = "utf-8"  # type: ignore[assignment]  # changed after definition: not seen then
    with pytest.raises(ValueError, match=r"Child\.encoding = 'utf-8'"):

        class Child(Base):
            pass


async def test_starlette_only_fails_on_the_first_message_and_so_do_we_after_a_late_change() -> None:
    # Why the aid exists: Starlette accepts the class and fails once a message arrives.
    starlette_class = type("Chat", (starlette.endpoints.WebSocketEndpoint,), {"encoding": "utf-8"})
    # An encoding changed after definition cannot be checked early; it fails exactly as Starlette's.
    ours = type("Chat", (WebSocketEndpoint,), {})
    ours.encoding = "utf-8"  # type: ignore[assignment]
    inputs = [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}]
    for cls in (starlette_class, ours):
        transcript = await run(cls, websocket_scope(), inputs)
        assert type(transcript.exception) is AssertionError
        assert str(transcript.exception) == "Unsupported 'encoding' attribute utf-8"


# --- misspelt handler names ------------------------------------------------------------------------------

MISSPELT = [
    (HTTPEndpoint, "gett", 1, "get"),
    (HTTPEndpoint, "Get", 1, "get"),
    (HTTPEndpoint, "GET", 1, "get"),
    (HTTPEndpoint, "post_", 1, "post"),
    (HTTPEndpoint, "get_", 1, "get"),
    (HTTPEndpoint, "Delete", 1, "delete"),
    (HTTPEndpoint, "gte", 1, "get"),
    (HTTPEndpoint, "psot", 1, "post"),
    (HTTPEndpoint, "pots", 1, "post"),
    (HTTPEndpoint, "posts", 1, "post"),  # a plural that takes a request: more likely a typo than a helper
    (HTTPEndpoint, "haed", 1, "head"),
    (HTTPEndpoint, "delet", 1, "delete"),
    (HTTPEndpoint, "delate", 1, "delete"),
    (HTTPEndpoint, "pacth", 1, "patch"),
    (HTTPEndpoint, "option", 1, "options"),
    (HTTPEndpoint, "optoins", 1, "options"),
    (HTTPEndpoint, "qurey", 1, "query"),
    (WebSocketEndpoint, "on_recieve", 2, "on_receive"),
    (WebSocketEndpoint, "on_Receive", 2, "on_receive"),
    (WebSocketEndpoint, "On_Connect", 1, "on_connect"),
    (WebSocketEndpoint, "on_conect", 1, "on_connect"),
    (WebSocketEndpoint, "on_connected", 1, "on_connect"),
    (WebSocketEndpoint, "on_disconect", 2, "on_disconnect"),
    (WebSocketEndpoint, "on_disconnected", 2, "on_disconnect"),
    (WebSocketEndpoint, "on_receive_", 2, "on_receive"),
]


@pytest.mark.parametrize(("base", "name", "arguments", "meant"), MISSPELT)
def test_a_misspelt_handler_warns_with_the_name_it_probably_meant(
    base: type, name: str, arguments: int, meant: str
) -> None:
    with pytest.warns(EndpointWarning) as record:
        type("Endpoint", (base,), {name: handler_taking(arguments)})
    assert len(record) == 1
    message = str(record[0].message)
    assert f"Endpoint.{name} looks like the" in message
    assert f"Rename it to {meant!r}" in message
    assert record[0].filename == __file__


def test_the_warning_points_at_the_class_statement() -> None:
    with pytest.warns(EndpointWarning) as record:

        class Users(HTTPEndpoint):
            async def gett(self, request: Request) -> Response:
                return PlainTextResponse("")

    assert (record[0].filename, record[0].lineno) == (__file__, class_statement_line(Users))


def test_the_warning_points_at_the_class_statement_of_a_websocket_endpoint() -> None:
    with pytest.warns(EndpointWarning) as record:

        class Chat(
            WebSocketEndpoint,
        ):
            encoding = "text"

            async def on_recieve(self, websocket: WebSocket, data: str) -> None:
                pass

    assert (record[0].filename, record[0].lineno) == (__file__, class_statement_line(Chat))


def test_the_warning_points_past_decorators_and_a_mixins_init_subclass() -> None:
    registry: list[type] = []

    class Registered:
        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            registry.append(cls)

    def decorate(cls: type) -> type:
        return cls

    with pytest.warns(EndpointWarning) as record:

        @decorate
        class Items(Registered, HTTPEndpoint):
            def Post(self, request: Request) -> Response:
                return PlainTextResponse("")

    assert registry == [Items]
    assert (record[0].filename, record[0].lineno) == (__file__, class_statement_line(Items))


def test_each_misspelt_name_warns_once_and_a_subclass_does_not_repeat_it() -> None:
    with pytest.warns(EndpointWarning) as record:

        class Sloppy(HTTPEndpoint):
            def gett(self, request: Request) -> Response:
                return PlainTextResponse("")

            def psot(self, request: Request) -> Response:
                return PlainTextResponse("")

    assert sorted(str(w.message).split(" ")[0].split(".<locals>.")[-1] for w in record) == [
        "Sloppy.gett",
        "Sloppy.psot",
    ]
    with no_warnings():

        class Child(Sloppy):
            pass


QUIET_HTTP = [
    ("get_user", 1),
    ("get_object", 1),
    ("render", 1),
    ("posts_count", 0),
    ("posts", 0),  # a helper listing posts, not a handler: it takes no request
    ("header", 1),
    ("heading", 1),
    ("set", 1),
    ("host", 1),
    ("port", 1),
    ("read", 1),
    ("out", 1),
    ("getter", 1),
    ("delete_all", 1),
    ("patched", 1),
    ("query_params", 1),
    ("queries", 1),
    ("options_for", 1),
    ("post_data", 1),
    ("put_item", 1),
    ("_get", 1),
    ("_post", 1),
    ("validate", 1),
    ("dispatch", 0),
]

QUIET_WEBSOCKET = [
    ("connect", 1),
    ("receive", 2),
    ("disconnect", 2),
    ("on_message", 2),
    ("on_close", 2),
    ("on_error", 2),
    ("on_connection", 1),
    ("on_receive_json", 2),
    ("broadcast", 2),
    ("send_all", 1),
    ("decode", 2),
]


@pytest.mark.parametrize(
    ("base", "name", "arguments"),
    [(HTTPEndpoint, *case) for case in QUIET_HTTP] + [(WebSocketEndpoint, *case) for case in QUIET_WEBSOCKET],
)
def test_ordinary_helper_methods_do_not_warn(base: type, name: str, arguments: int) -> None:
    def helper(self: Any, *args: Any) -> None:
        pass

    function = helper if arguments else (lambda self: None)
    with no_warnings():
        type("Endpoint", (base,), {name: function})


def test_realistic_endpoint_classes_do_not_warn() -> None:
    with no_warnings():

        class Homepage(HTTPEndpoint):
            async def get(self, request: Request) -> Response:
                return PlainTextResponse("Hello, world!")

        class User(HTTPEndpoint):
            GET = "a constant, not a method"
            head = None  # type: ignore[assignment]

            class Post:  # a nested class is not a handler
                pass

            @staticmethod
            def get_default() -> str:
                return "anonymous"

            @classmethod
            def create(cls) -> User:
                raise NotImplementedError

            @property
            def head_count(self) -> int:
                return 0

            def get_user(self, request: Request) -> str:
                return str(request.path_params.get("username", self.get_default()))

            def render(self, name: str) -> Response:
                return PlainTextResponse(f"Hello, {name}")

            async def get(self, request: Request) -> Response:
                return self.render(self.get_user(request))

            async def post(self, request: Request) -> Response:
                return PlainTextResponse("created", status_code=201)

            async def method_not_allowed(self, request: Request) -> Response:
                return PlainTextResponse("no", status_code=405)

        class Echo(WebSocketEndpoint):
            encoding = "bytes"

            async def on_connect(self, websocket: WebSocket) -> None:
                await websocket.accept()

            async def on_receive(self, websocket: WebSocket, data: bytes) -> None:
                await websocket.send_bytes(b"Message: " + data)

            async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
                pass

            async def broadcast(self, websocket: WebSocket, data: bytes) -> None:
                pass

    assert [Homepage, User, Echo]


def test_endpoint_warning_is_a_user_warning_exported_by_the_package() -> None:
    assert issubclass(EndpointWarning, UserWarning)
    assert playground.EndpointWarning is EndpointWarning


# --- allowed_methods() ------------------------------------------------------------------------------------


def make_http(handlers: list[str], base: type = HTTPEndpoint) -> type:
    async def handler(self: Any, request: Request) -> Response:
        return PlainTextResponse("ok")

    return type("Endpoint", (base,), dict.fromkeys(handlers, handler))


ALLOWED = [
    ([], []),
    (["get"], ["GET", "HEAD"]),
    (["head"], ["HEAD"]),
    (["head", "get"], ["GET", "HEAD"]),
    (["post", "put"], ["POST", "PUT"]),
    (["query", "delete", "options"], ["DELETE", "OPTIONS", "QUERY"]),
    (["patch", "post", "get"], ["GET", "HEAD", "POST", "PATCH"]),
    (["query", "options", "delete", "patch", "put", "post", "head", "get"], list(HTTP_METHODS)),
    (["trace", "connect"], []),
]


@pytest.mark.parametrize(("handlers", "allowed"), ALLOWED)
async def test_allowed_methods_answers_without_a_request_as_the_allow_header_does(
    handlers: list[str], allowed: list[str]
) -> None:
    cls = make_http(handlers)
    assert cls.allowed_methods() == allowed
    transcript = await run(cls, http_scope("TRACE"), [http_request()])
    start = transcript.sent[0]
    assert start["status"] == 405
    assert dict(start["headers"])[b"allow"] == ", ".join(allowed).encode()
    # Starlette's own class, asked the only way it can be (with a request), agrees.
    theirs = make_http(handlers, starlette.endpoints.HTTPEndpoint)
    their_start = (await run(theirs, http_scope("TRACE"), [http_request()])).sent[0]
    assert their_start["status"] == 405
    assert dict(their_start["headers"])[b"allow"] == ", ".join(allowed).encode()


def test_allowed_methods_follows_inheritance_and_none() -> None:
    base = make_http(["get", "post"])
    without_post = type("WithoutPost", (base,), {"post": None})
    assert without_post.allowed_methods() == ["GET", "HEAD"]
    assert make_http(["delete"], base).allowed_methods() == ["GET", "HEAD", "POST", "DELETE"]


async def test_handlers_set_on_the_instance_dispatch_as_in_starlette() -> None:
    def define(base: type) -> type:
        class Late(base):  # type: ignore[valid-type, misc]
            def __init__(self, scope: Any, receive: Any, send: Any) -> None:
                self.post = self.create
                super().__init__(scope, receive, send)

            async def create(self, request: Request) -> Response:
                return PlainTextResponse("created")

        return Late

    for base in (HTTPEndpoint, starlette.endpoints.HTTPEndpoint):
        transcript = await run(define(base), http_scope("POST"), [http_request()])
        assert transcript.sent[-1]["body"] == b"created", base
    # The class alone cannot know about a handler that only its instances get.
    assert define(HTTPEndpoint).allowed_methods() == []
