"""``TestClient``: Starlette's synchronous test client, with playground's ``Client`` underneath.

Change one import (``from playground.testing import TestClient``) and a test suite written for
``starlette.testclient.TestClient`` (or FastAPI's, the same class) runs as before, with what that
client lacks: every wait for the app is bounded (a hung app fails its test with ``AppTimeout``,
naming the line the app was stuck on, instead of hanging the run), and ``client.history`` keeps the
latest exchanges with their ASGI traces, which the pytest plugin prints when a test fails.

It is built the way Starlette's is: inside ``with TestClient(app) as client:`` one event loop runs in
a portal thread for the whole block, with the app and its lifespan on it; outside a ``with`` block a
loop is started for each call (shared by the calls that overlap, such as two open WebSocket
sessions) and stopped after it. Where it behaves differently from Starlette's, the README's
"Differences from TestClient" table says what, why, and how to get Starlette's behaviour.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import threading
import warnings
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin

import anyio
import anyio.from_thread
import httpx

from ._asgi import app_name
from ._inprocess.http import AppBodyStream
from ._inprocess.websocket import InProcessWebSocketSession
from .client import Client
from .errors import ClientDisconnected, LifespanError, WebSocketDenied, check_timeout
from .response import Response, read_body

# WebSocketDenialResponse, Starlette's class, is also importable from here (see __getattr__).
__all__ = ["DEFAULT_TIMEOUT", "TestClient", "WebSocketTestSession"]

#: Seconds the drop-in waits for the app at any one step. Longer than ``Client``'s (5 s, for a person
#: at a notebook): a test machine under load can be slow, and a hang is still caught in seconds.
DEFAULT_TIMEOUT = 10.0

T = TypeVar("T")
_DEFAULT: Any = object()  # "the client's setting", as httpx's USE_CLIENT_DEFAULT
# What httpx.Client sends by default; Starlette's user agent comes after the caller's headers.
_DEFAULT_HEADERS = {"accept": "*/*", "accept-encoding": "gzip, deflate", "connection": "keep-alive"}
# Starlette's TestClient handshake: no 'upgrade' header, its own key.
_HANDSHAKE = {"connection": "upgrade", "sec-websocket-key": "testserver==", "sec-websocket-version": "13"}
# Frames of the thread hand-off: a traceback goes from the test's line straight on to the app's.
_HANDOFF = ("/anyio/from_thread.py", "/concurrent/futures/", "/anyio/_backends/", "/threading.py")


class _InnerClient(Client):
    """The async client underneath, speaking as Starlette's TestClient does."""

    websocket_handshake = _HANDSHAKE

    def __repr__(self) -> str:
        return f"<TestClient {self.transport.describe()} at {self.base_url}>"


def _is_asgi3(app: Any) -> bool:
    """Starlette's rule: a class that is awaitable, or an async callable; anything else is ASGI 2."""
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    while isinstance(app, functools.partial):
        app = app.func
    call = type(app).__call__ if callable(app) and not inspect.isfunction(app) else None
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


class _ASGI2App:
    """An ASGI 2 app (``app(scope)`` returns ``instance(receive, send)``) as an ASGI 3 one."""

    def __init__(self, app: Callable[[dict[str, Any]], Callable[..., Awaitable[None]]]) -> None:
        self.app = app
        self.__qualname__ = app_name(app)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope)(receive, send)


def _stripped(headers: Any) -> Any:
    """Header values without surrounding whitespace, as a server's parser hands them to the app."""
    if not headers:
        return headers
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(name, value.strip() if isinstance(value, (str, bytes)) else value) for name, value in pairs]


def _seconds(timeout: Any) -> Any:
    """A call's ``timeout`` as seconds: a number, None, or an ``httpx.Timeout`` (its read timeout)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout.read
    return timeout


def _auth_of(auth: Any) -> httpx.Auth:
    """httpx's ``auth=`` forms: a (user, password) tuple, a function of the request, or an ``httpx.Auth``."""
    if isinstance(auth, tuple):
        return httpx.BasicAuth(*auth)
    if callable(auth) and not isinstance(auth, httpx.Auth):
        return _FunctionAuth(auth)
    return auth


class _FunctionAuth(httpx.Auth):
    def __init__(self, func: Callable[[httpx.Request], httpx.Request]) -> None:
        self.func = func

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield self.func(request)


def _trimmed(exc: BaseException) -> BaseException:
    """``exc`` with the portal's thread hand-off frames left out of its traceback."""
    tb = exc.__traceback__
    first = previous = None
    while tb is not None:
        if not any(part in tb.tb_frame.f_code.co_filename.replace("\\", "/") for part in _HANDOFF):
            if previous is None:
                first = tb
            else:
                previous.tb_next = tb
            previous = tb
        tb = tb.tb_next
    if previous is not None:
        previous.tb_next = None
    return exc.with_traceback(first)


@functools.cache
def _starlette_denial() -> type:
    # Imported on first use: starlette.testclient warns when it finds httpx instead of httpx2, which
    # says nothing to someone who does not use that client.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import WebSocketDenialResponse
    return WebSocketDenialResponse


@functools.cache
def _denial_class() -> type:
    class WebSocketDenialResponse(Response, _starlette_denial(), WebSocketDenied):  # type: ignore[misc]
        """The app's HTTP answer to a WebSocket handshake: an httpx response and an exception at once,
        like Starlette's (``except starlette.testclient.WebSocketDenialResponse`` catches it)."""

        __str__ = WebSocketDenied.__str__

    return WebSocketDenialResponse


def _denial_response(response: Response) -> BaseException:
    denial = _denial_class()(response.status_code, headers=response.headers.raw, content=response.content,
                             request=response.request)
    denial.trace, denial.elapsed = response.trace, response.elapsed
    denial.code, denial.reason, denial.peer, denial.response = None, "", "app", denial
    return denial


def __getattr__(name: str) -> Any:
    if name == "WebSocketDenialResponse":
        # Starlette's class: what the drop-in raises is one, so tests catching it keep working.
        return _starlette_denial()
    raise AttributeError(f"module 'playground.testing' has no attribute {name!r}")


class TestClient:
    """Starlette 1.10's ``TestClient``: the same arguments and synchronous methods, responses that are
    ``httpx.Response`` objects (playground's, with a ``trace``), WebSocket sessions as sync context
    managers. Beyond it: ``timeout`` (seconds, per wait for the app; ``None`` waits forever, as
    Starlette's does), ``history`` (how many exchanges ``client.history`` keeps; 0 for none) and
    ``lifespan`` (``"on"``: ``with`` runs the app's lifespan, as Starlette's does; ``"auto"`` also
    accepts an app that does not speak the lifespan protocol, as uvicorn does).
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(
        self,
        app: Any,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: Any = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        history: int = 20,
        lifespan: Literal["on", "auto"] = "on",
    ) -> None:
        if isinstance(app, (str, httpx.URL)):
            raise TypeError(f"TestClient drives an ASGI app in-process, got the URL {str(app)!r}; "
                            "for a running server use playground.Client(url)")
        self.app = app if _is_asgi3(app) else _ASGI2App(app)
        self.async_backend = {"backend": backend, "backend_options": backend_options or {}}
        self.raise_server_exceptions = raise_server_exceptions
        #: the loop's portal inside ``with``; None outside (each call then starts a loop of its own)
        self.portal: anyio.from_thread.BlockingPortal | None = None
        self._borrowed: tuple[Any, anyio.from_thread.BlockingPortal] | None = None
        self._borrowers = 0
        self._lock = threading.Lock()
        self._exit_stack: contextlib.ExitStack | None = None
        self._open: set[_PortalStream] = set()  # streamed responses not closed yet
        self._client = _InnerClient(
            self.app, base_url=base_url, timeout=timeout, raise_app_exceptions=raise_server_exceptions,
            cookies=cookies, follow_redirects=follow_redirects, root_path=root_path, client=client,
            lifespan=lifespan, max_message_size=None, history=history,
        )
        self.headers = headers  # type: ignore[assignment]

    # -- what httpx.Client has, as properties ---------------------------------------------------

    @property
    def base_url(self) -> httpx.URL:
        return self._client.base_url

    @base_url.setter
    def base_url(self, value: str | httpx.URL) -> None:
        self._client.base_url = value

    @property
    def headers(self) -> httpx.Headers:
        return self._client.headers

    @headers.setter
    def headers(self, value: Any) -> None:
        given = httpx.Headers(_stripped(value))
        given.setdefault("user-agent", "testclient")
        headers = httpx.Headers(_DEFAULT_HEADERS)
        headers.update(given)
        self._client.headers = headers

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    @cookies.setter
    def cookies(self, value: Any) -> None:
        self._client.cookies = httpx.Cookies(value)

    @property
    def follow_redirects(self) -> bool:
        return self._client.follow_redirects

    @follow_redirects.setter
    def follow_redirects(self, value: bool) -> None:
        self._client.follow_redirects = value

    @property
    def timeout(self) -> float | None:
        """Seconds each wait for the app may take (None: forever)."""
        return self._client.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        check_timeout(value)
        self._client.timeout = value

    @property
    def history(self) -> Any:
        """The latest responses and WebSocket sessions, newest last, each with its ``trace``."""
        return self._client.history

    @property
    def app_state(self) -> dict[str, Any]:
        """The state the app's lifespan set up (inside ``with``)."""
        return self._client.state or {}

    # -- running calls on the loop --------------------------------------------------------------

    @contextlib.contextmanager
    def _portal_factory(self) -> Iterator[anyio.from_thread.BlockingPortal]:
        """The ``with`` block's portal, or one started for calls that overlap and stopped after the last."""
        if self.portal is not None:
            yield self.portal
            return
        with self._lock:
            if self._borrowed is None:
                manager = anyio.from_thread.start_blocking_portal(**self.async_backend)
                self._borrowed = (manager, manager.__enter__())
            self._borrowers += 1
            portal = self._borrowed[1]
        try:
            yield portal
        finally:
            with self._lock:
                self._borrowers -= 1
                if self._borrowers == 0 and self._borrowed is not None:
                    manager, self._borrowed = self._borrowed[0], None
                    manager.__exit__(None, None, None)

    def _call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        __tracebackhide__ = True
        with self._portal_factory() as portal:
            return _on(portal, func, *args, **kwargs)

    # -- requests ---------------------------------------------------------------------------------

    def build_request(self, method: str, url: Any, **kwargs: Any) -> httpx.Request:
        if "headers" in kwargs:
            kwargs["headers"] = _stripped(kwargs["headers"])
        # httpx upper-cases the method, and so does Starlette's client ('trace' goes out as TRACE).
        return self._client.build_request(method.upper(), url, **kwargs)

    def request(
        self, method: str, url: Any, *, content: Any = None, data: Any = None, files: Any = None,
        json: Any = None, params: Any = None, headers: Any = None, cookies: Any = None, auth: Any = _DEFAULT,
        follow_redirects: Any = _DEFAULT, timeout: Any = _DEFAULT, extensions: dict[str, Any] | None = None,
    ) -> Response:
        __tracebackhide__ = True
        request = self.build_request(method, url, content=content, data=data, files=files, json=json,
                                     params=params, headers=headers, cookies=cookies)
        return self.send(request, auth=auth, follow_redirects=follow_redirects, timeout=timeout)

    def send(
        self, request: httpx.Request, *, stream: bool = False, auth: Any = _DEFAULT,
        follow_redirects: Any = _DEFAULT, timeout: Any = _DEFAULT,
    ) -> Response:
        """Send a built request; with ``stream=True`` the body is read as it is iterated, and
        ``response.close()`` ends it (closing the client cancels the responses still open)."""
        __tracebackhide__ = True
        options: dict[str, Any] = {} if timeout is _DEFAULT else {"timeout": _seconds(timeout)}
        if stream:
            return self._open_stream(request, options)
        options["follow_redirects"] = None if follow_redirects is _DEFAULT else follow_redirects
        if auth is _DEFAULT or auth is None:
            return self._received(self._call(self._client.send, request, **options))
        flow = _auth_of(auth).sync_auth_flow(request)
        request = next(flow)
        while True:
            response = self._received(self._call(self._client.send, request, **options))
            try:
                request = flow.send(response)
            except StopIteration:
                return response

    def _received(self, response: Response) -> Response:
        if response.app_exception is not None:
            # The history keeps the exchange, not the app's exception: its traceback holds the app's
            # objects (the request, whatever its frames had), which a test may expect to be freed.
            history = self._client.history
            if history and history[-1] is response:
                kept = copy.copy(response)
                kept.app_exception = None
                history[-1] = kept
        return _as_starlette_gives(response)

    def _open_stream(self, request: httpx.Request, options: dict[str, Any]) -> Response:
        __tracebackhide__ = True
        stack = contextlib.ExitStack()
        portal = stack.enter_context(self._portal_factory())
        try:
            response = _as_starlette_gives(_on(portal, self._client.open_stream, request, **options))
        except BaseException:
            stack.close()
            raise
        body = _PortalStream(portal, response.stream, stack, self._open)  # type: ignore[arg-type]
        response.stream = body
        self._open.add(body)
        return response

    def get(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("GET", url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("HEAD", url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("POST", url, **kwargs)

    def put(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("PUT", url, **kwargs)

    def patch(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return self.request("DELETE", url, **kwargs)

    @contextlib.contextmanager
    def stream(self, method: str, url: Any, *, timeout: Any = _DEFAULT, **kwargs: Any) -> Iterator[Response]:
        """``with client.stream("GET", url) as response:``: the body is read as the block iterates it."""
        __tracebackhide__ = True
        for unused in ("auth", "follow_redirects", "extensions"):
            kwargs.pop(unused, None)
        response = self.send(self.build_request(method, url, **kwargs), stream=True, timeout=timeout)
        try:
            yield response
        finally:
            response.close()

    # -- WebSockets -----------------------------------------------------------------------------

    def websocket_connect(
        self, url: str, subprotocols: Sequence[str] | None = None, **kwargs: Any
    ) -> WebSocketTestSession:
        """A WebSocket session: ``with client.websocket_connect("/ws") as websocket: ...``."""
        # As Starlette's: the URL is joined to ws://testserver, not to base_url.
        headers = httpx.Headers(_stripped(kwargs.pop("headers", None) or {}))
        timeout = kwargs.pop("timeout", _DEFAULT)
        target = httpx.URL(urljoin("ws://testserver", url))
        if kwargs.get("params") is not None:
            target = target.copy_merge_params(kwargs.pop("params"))
        if kwargs.get("cookies"):
            # What httpx does with per-request cookies: the client's jar plus these, in one header.
            jar = httpx.Cookies(self.cookies)
            jar.update(kwargs.pop("cookies"))
            probe = httpx.Request("GET", target)
            jar.set_cookie_header(probe)
            headers.setdefault("cookie", probe.headers["cookie"])
        auth = kwargs.pop("auth", None)
        if auth is not None:
            # As httpx would: the credentials the auth flow puts on its first request.
            probe = next(_auth_of(auth).sync_auth_flow(httpx.Request("GET", target)))
            headers.setdefault("authorization", probe.headers["authorization"])
        session = self._client.websocket_connect(
            target, subprotocols=list(subprotocols) if subprotocols else None,
            headers=dict(headers), **({} if timeout is _DEFAULT else {"timeout": _seconds(timeout)}),
        )
        unknown = {name for name, value in kwargs.items() if value is not None}
        if unknown:
            raise TypeError(f"websocket_connect() got arguments it does not take: {', '.join(sorted(unknown))}")
        assert isinstance(session, InProcessWebSocketSession)
        session.raise_app_exceptions = True  # Starlette's client raises a WebSocket app's error whatever the setting
        session.quiet_late_close = True
        return WebSocketTestSession(self, session)

    # -- lifespan ---------------------------------------------------------------------------------

    def __enter__(self) -> TestClient:
        __tracebackhide__ = True
        with contextlib.ExitStack() as stack:
            self.portal = portal = stack.enter_context(anyio.from_thread.start_blocking_portal(**self.async_backend))
            stack.callback(setattr, self, "portal", None)
            _lifespan(portal, self._client.startup)
            stack.callback(_lifespan, portal, self._client.aclose)
            stack.callback(self.close)
            self._exit_stack = stack.pop_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            stack.close()

    def close(self) -> None:
        """Cancel the apps of the streamed responses still open (``send(..., stream=True)`` unclosed)."""
        __tracebackhide__ = True
        for response in list(self._open):
            response.abort()

    def __repr__(self) -> str:
        return repr(self._client)


def _on(portal: anyio.from_thread.BlockingPortal, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """``portal.call``, with the app's error raised as if from here (no thread hand-off in the traceback)."""
    __tracebackhide__ = True
    try:
        return portal.call(functools.partial(func, *args, **kwargs))
    except BaseException as exc:
        raise _trimmed(exc)  # noqa: B904 (the same exception, re-raised: its cause stays as it was)


def _lifespan(portal: anyio.from_thread.BlockingPortal, step: Callable[[], Awaitable[None]]) -> None:
    """Lifespan startup or shutdown; when the app raised, its own exception, as Starlette's client gives."""
    __tracebackhide__ = True
    try:
        _on(portal, step)
    except LifespanError as error:
        if error.__cause__ is None:
            raise
        raise _trimmed(error.__cause__) from None


class _PortalStream(httpx.SyncByteStream):
    """A streamed response's body read from the test's thread, chunk by chunk, through the portal."""

    def __init__(
        self, portal: anyio.from_thread.BlockingPortal, body: AppBodyStream, stack: contextlib.ExitStack,
        open_set: set[_PortalStream],
    ) -> None:
        self.portal = portal
        self.body = body
        self._stack = stack  # holds the loop while the response is open
        self._open = open_set
        self._chunks: Any = None

    def __iter__(self) -> Iterator[bytes]:
        __tracebackhide__ = True
        self._chunks = chunks = self.body.__aiter__()
        while True:
            try:
                chunk = _on(self.portal, chunks.__anext__)
            except StopAsyncIteration:
                return
            yield chunk

    def close(self) -> None:
        __tracebackhide__ = True
        self._end(self.body.aclose)

    def abort(self) -> None:
        __tracebackhide__ = True
        self._end(self.body.abort)

    def _end(self, step: Callable[[], Awaitable[None]]) -> None:
        __tracebackhide__ = True
        if self not in self._open:
            return  # closed already
        self._open.discard(self)
        with self._stack:
            if self._chunks is not None:
                # Left early or not, the body's generator ends on the loop, not in the garbage collector.
                _on(self.portal, self._chunks.aclose)
            _on(self.portal, step)


def _as_starlette_gives(response: Response) -> Response:
    """The response as Starlette's client shapes it: its extensions, its empty 500."""
    trace = response.trace
    assert trace is not None
    if response.app_exception is not None and "http.response.start" not in trace.types:
        # A crash before the response started, exceptions off: Starlette's empty 500, on purpose not
        # the in-process server's "Internal Server Error" (``_inprocess.http.server_error``): a suite
        # written for Starlette's client may assert that empty body.
        empty = Response(500, request=response.request)
        read_body(empty, b"")
        empty.trace, empty.app_exception = trace, response.app_exception
        return empty
    for event in trace.events:
        kind = event.message["type"]
        if kind == "http.response.start" and event.message.get("trailers"):
            # The list the trailers are added to as they come, as Starlette's is.
            response.extensions = {**response.extensions, "http.response.trailers": response.trailers}
        elif kind == "http.response.debug":
            response.extensions = {**response.extensions, "http.response.debug": event.message.get("info")}
        elif kind == "http.response.body":
            break
    return response


def _client_gone(error: BaseException) -> bool:
    """Whether the app's error is the in-process server refusing a send after the client had gone
    (or Starlette's WebSocketDisconnect made of that): Starlette's TestClient takes such sends."""
    return isinstance(error, ClientDisconnected) or isinstance(error.__context__, ClientDisconnected)


class WebSocketTestSession:
    """Starlette's WebSocket session API, synchronous, on a playground session.

    Raw ``send()`` hands the app any message unchecked, as Starlette's does. Leaving the block sends
    ``websocket.disconnect`` and waits (bounded) for the app to finish, instead of cancelling it; an
    exception the app ended with, its own ``WebSocketDisconnect`` included, is raised from the block.
    """

    def __init__(self, client: TestClient, session: InProcessWebSocketSession) -> None:
        self._client = client
        self.session = session
        self.app = client.app
        self.scope = session.trace.scope
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None
        self._stack = contextlib.ExitStack()
        self._seen: BaseException | None = None  # the app's exception once the test has seen it

    def __enter__(self) -> WebSocketTestSession:
        __tracebackhide__ = True
        with self._stack as stack:
            self.portal = stack.enter_context(self._client._portal_factory())
            try:
                self._run(self.session.__aenter__)
            except WebSocketDenied as denied:
                if denied.response is None:
                    raise
                raise _denial_response(denied.response) from None
            self.accepted_subprotocol = self.session.accepted_subprotocol
            accept = next(e.message for e in self.session.trace.events if e.message["type"] == "websocket.accept")
            self.extra_headers = accept.get("headers")
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        with self._stack:
            if exc is None:
                self._run(self._finish)
            else:
                _on(self.portal, self.session._leave, exc)

    async def _finish(self) -> None:
        __tracebackhide__ = True
        try:
            await self.session.close()
        except BaseException as exc:
            if exc is not self.session.app_exception:
                raise
        error = self.session.app_exception
        if error is not None and error is not self._seen and not _client_gone(error):
            self._seen = error
            raise error

    def _run(self, func: Callable[..., Awaitable[T]], *args: Any) -> T:
        __tracebackhide__ = True
        try:
            return _on(self.portal, func, *args)
        except BaseException as exc:
            if exc is self.session.app_exception:
                self._seen = exc
            raise

    # -- sending: as Starlette's, the app gets what is given ----------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        self.portal.call(self.session.send_unchecked, message)

    def send_text(self, data: str) -> None:
        self.send({"type": "websocket.receive", "text": data})

    def send_bytes(self, data: bytes) -> None:
        self.send({"type": "websocket.receive", "bytes": data})

    def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        import json

        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            self.send({"type": "websocket.receive", "text": text})
        else:
            self.send({"type": "websocket.receive", "bytes": text.encode("utf-8")})

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close from the client's side and wait (bounded) for the app to finish; its error comes at
        the end of the block, as with Starlette's client."""
        __tracebackhide__ = True
        try:
            _on(self.portal, self.session.close, code, reason)
        except BaseException as exc:
            if exc is not self.session.app_exception:
                raise

    # -- receiving: bounded by the client's timeout ------------------------------------------------

    def receive(self) -> dict[str, Any]:
        __tracebackhide__ = True
        return self._run(self.session.receive)

    def receive_text(self) -> str:
        __tracebackhide__ = True
        return self._run(self.session.receive_text)

    def receive_bytes(self) -> bytes:
        __tracebackhide__ = True
        return self._run(self.session.receive_bytes)

    def receive_json(self, mode: Literal["text", "binary"] = "text") -> Any:
        __tracebackhide__ = True
        return self._run(self.session.receive_json, mode)

    def __repr__(self) -> str:
        return repr(self.session)

