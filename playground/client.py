"""``Client``: HTTP and WebSocket traffic from a notebook cell, one async API over two transports.

``Client(app)`` drives an ASGI app in-process, on the caller's own event loop; ``Client(url)`` talks
to a running server over the network. Either way a request returns an ``httpx.Response`` carrying its
trace, and ``websocket_connect`` gives a session with Starlette TestClient's method names.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from ._history import History
from ._inprocess.app_task import BLOCK_THRESHOLD
from ._inprocess.lifespan import LifespanMode
from ._inprocess.scope import DEFAULT_PORTS, remember
from .errors import check_choice, check_grace, check_message_size, check_timeout
from .response import Response
from .websocket import WebSocketSession

if TYPE_CHECKING:
    from ._httpfile.run import Exchanges

__all__ = ["Client"]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
MAX_REDIRECTS = 20
_EMPTY = httpx.ByteStream(b"")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_SCHEMES = ("http", "https", "ws", "wss")

#: Told of every exchange a client starts, as ``observer(client, item)``: the pytest plugin sets it while
#: a test runs, to report the exchanges of a failing test. ``item`` is the ``httpx.Request`` (its trace in
#: ``request.extensions["playground.trace"]`` once the app is called) or the ``WebSocketSession``.
observer: Any = None


def _header_error(headers: Any) -> Exception | None:
    """Which header httpx could not encode (it says only 'ascii codec can't encode'), and what to do."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if isinstance(name, bytes) and not name.isascii():
            return httpx.LocalProtocolError(f"Illegal header name {name!r}")  # the scope's rule, and h11's
        for part, what in ((name, "name"), (value, "value")):
            if isinstance(part, str) and not part.isascii():
                return ValueError(
                    f"header {name!r} has a non-ASCII {what} {part!r}: header values are sent as ASCII; "
                    "to send UTF-8 bytes, encode it yourself (value.encode())"
                )
    return None


async def _read_body(request: httpx.Request) -> None:
    # httpx reads a body given as a sync iterable (a generator, a list of chunks) only synchronously.
    if isinstance(request.stream, httpx.AsyncByteStream):
        await request.aread()
    else:
        request.read()


def redirect_method(method: str, status_code: int) -> str:
    """303 turns anything but HEAD into GET; so does 302 (as browsers do), and 301 a POST."""
    if status_code in (302, 303) and method != "HEAD":
        return "GET"
    if status_code == 301 and method == "POST":
        return "GET"
    return method


def redirect_url(request: httpx.Request, response: httpx.Response) -> httpx.URL:
    location = response.headers["location"]
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(f"Invalid URL in location header: {exc}.", request=request) from None
    if url.scheme and not url.host:  # 'http:/path', an absolute form without a host
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    return url


def _port(url: httpx.URL) -> int | None:
    return url.port or DEFAULT_PORTS.get(url.scheme)


def same_origin(url: httpx.URL, other: httpx.URL) -> bool:
    return url.scheme == other.scheme and url.host == other.host and _port(url) == _port(other)


def is_https_upgrade(url: httpx.URL, location: httpx.URL) -> bool:
    """http://host(:80) to https://host(:443): the one cross-origin hop that keeps ``Authorization``."""
    return (url.host == location.host and url.scheme == "http" and _port(url) == 80
            and location.scheme == "https" and _port(location) == 443)


class _Unset:
    def __repr__(self) -> str:
        return "<client default>"


UNSET: Any = _Unset()


class Transport(Protocol):
    """What ``Client`` needs below it: ``_inprocess.transport.InProcessTransport`` (the app, called
    in-process) or ``_network.NetworkTransport`` (a server, over sockets)."""

    async def request(self, request: httpx.Request, *, timeout: float | None, stream: bool) -> Response: ...
    def websocket(self, request: httpx.Request, *, timeout: float | None) -> WebSocketSession: ...
    async def startup(self, timeout: float | None) -> None: ...
    async def shutdown(self) -> None: ...
    def describe(self) -> str: ...
    @property
    def state(self) -> dict[str, Any] | None:
        """The lifespan state the app set at startup; None without lifespan, or where it is out of sight."""


class Client:
    """Send requests and open WebSocket sessions against an ASGI app (or a server URL).

    ``timeout`` (seconds) bounds every wait for the app; ``None`` waits forever. ``grace`` is how long
    an app gets to finish after the client has gone before it is cancelled. ``block_threshold``
    (seconds, ``None`` for never) is how long an app may block the event loop while the client waits
    before it is reported; past the call's timeout it is stopped (in-process, on asyncio; see the
    README's "When a kernel hangs"). ``async with Client(app)``
    also runs the app's lifespan (``lifespan="auto"`` skips it for apps that do not support it,
    ``"on"`` insists, ``"off"`` never runs it).
    """

    #: The headers of a WebSocket handshake, under any the caller gives.
    websocket_handshake: Mapping[str, str] = {
        "connection": "upgrade", "upgrade": "websocket", "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    }

    def __init__(
        self,
        app: Any,
        *,
        base_url: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        grace: float = 1.0,
        raise_app_exceptions: bool = True,
        headers: Mapping[str, str] | None = None,
        cookies: Any = None,
        follow_redirects: bool = False,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 50000),
        lifespan: LifespanMode = "auto",
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        history: int = 50,
        block_threshold: float | None = BLOCK_THRESHOLD,
    ) -> None:
        # Checked here once, for both transports (and TestClient, which passes its own on).
        check_timeout(timeout)
        check_timeout(block_threshold, "block_threshold")
        check_grace(grace)
        check_message_size(max_message_size)
        check_choice("lifespan", lifespan, ("auto", "on", "off"))
        self.app = app
        self.timeout = timeout
        self.follow_redirects = follow_redirects
        self.transport: Transport
        if isinstance(app, (str, httpx.URL)):
            from ._network import NetworkTransport

            self.transport = NetworkTransport(str(app), max_message_size=max_message_size)
            base_url = base_url or str(app)
        else:
            if not callable(app):
                raise TypeError(f"Client() needs an ASGI app (a callable) or a URL string, got {app!r:.80}")
            from ._inprocess.transport import InProcessTransport

            self.transport = InProcessTransport(
                app, grace=grace, raise_app_exceptions=raise_app_exceptions, root_path=root_path,
                client=client, lifespan=lifespan, max_message_size=max_message_size,
                block_threshold=block_threshold,
            )
        self._merged_urls: dict[str, httpx.URL] = {}
        self.base_url = base_url or "http://testserver"
        self.headers = httpx.Headers({"accept": "*/*", "accept-encoding": "gzip, deflate",
                                      "user-agent": "playground"})
        if headers:
            self._update_headers(self.headers, headers)
        self.cookies = httpx.Cookies(cookies)
        #: the latest exchanges (responses and WebSocket sessions), newest last; displays as a waterfall
        self.history: History = History(maxlen=history)
        self._sessions: list[WebSocketSession] = []
        self._prune_at = 64
        self._prepared_from: list[tuple[bytes, bytes]] = []
        self._prepared: dict[bytes, httpx.Headers] = {}

    @property
    def base_url(self) -> httpx.URL:
        return self._base_url

    @base_url.setter
    def base_url(self, value: str | httpx.URL) -> None:
        # Relative URLs are joined under it, so it always ends with a slash.
        base = httpx.URL(value)
        if not base.raw_path.endswith(b"/"):
            base = base.copy_with(raw_path=base.raw_path + b"/")
        self._base_url = base
        self._merged_urls.clear()

    # -- requests ------------------------------------------------------------------------------------

    def build_request(
        self, method: str, url: str | httpx.URL, *, params: Any = None, headers: Any = None,
        cookies: Any = None, content: Any = None, data: Any = None, files: Any = None, json: Any = None,
    ) -> httpx.Request:
        if not isinstance(method, str) or not _TOKEN.match(method):
            raise ValueError(f"method must be an HTTP token such as 'GET' or 'QUERY', got {method!r}")
        merged = self.headers
        if headers:
            merged = merged.copy()
            self._update_headers(merged, headers)
        if isinstance(content, (bytearray, memoryview)):
            content = bytes(content)  # httpx would iterate it as a sync stream of integers
        if (params is None and content is None and data is None and files is None and json is None
                and not cookies and not self.cookies):
            request = self._bodiless_request(method, self._merge_url(url), merged)
        else:
            jar = None
            if self.cookies or cookies:
                jar = httpx.Cookies(self.cookies)
                if cookies:
                    jar.update(cookies)
            request = httpx.Request(
                method, self._merge_url(url), params=params, headers=merged, cookies=jar, content=content,
                data=data, files=files, json=json,
            )
        # httpx upper-cases the method; the app gets what was asked for (a lower-case 'get' is a 405).
        request.method = method
        return request

    def _timeout(self, timeout: Any) -> float | None:
        """The timeout of one call: the client's unless the call gives one, which is checked."""
        if timeout is UNSET:
            return self.timeout
        check_timeout(timeout)
        return timeout

    @staticmethod
    def _update_headers(target: httpx.Headers, headers: Any) -> None:
        try:
            target.update(headers)
        except UnicodeEncodeError:
            error = _header_error(headers)
            if error is None:
                raise
            raise error from None

    def _bodiless_request(self, method: str, url: httpx.URL, headers: httpx.Headers) -> httpx.Request:
        """The common case, built directly: the same headers httpx would add, a third of the cost."""
        if method.upper() in ("POST", "PUT", "PATCH") or headers is not self.headers:
            # In httpx's order: Host, then Content-Length, ahead of the rest.
            auto = [] if "host" in headers else [(b"Host", url.netloc)]
            if method.upper() in ("POST", "PUT", "PATCH") and "content-length" not in headers:
                auto.append((b"Content-Length", b"0"))
            prepared = httpx.Headers(auto + headers.raw)
        else:
            # The client's own headers plus Host, prepared once per host; redone if they were changed.
            raw = headers.raw
            if raw != self._prepared_from:
                self._prepared_from, self._prepared = raw, {}
            netloc = url.netloc
            prepared = self._prepared.get(netloc)  # type: ignore[assignment]
            if prepared is None:
                has_host = "host" in headers
                prepared = self._prepared[netloc] = httpx.Headers(raw if has_host else [(b"Host", netloc), *raw])
        request = httpx.Request(method, url, headers=prepared, stream=_EMPTY)
        request.read()
        return request

    def _merge_url(self, url: str | httpx.URL) -> httpx.URL:
        # Parsing a URL is a large share of a request's cost; notebooks repeat the same few paths.
        merged = self._merged_urls.get(url) if isinstance(url, str) else None
        if merged is not None:
            return merged
        merged = httpx.URL(url)
        if merged.scheme and merged.scheme not in _SCHEMES:
            # httpx counts 'file:///x' as relative (no host): it would be joined to base_url as a path.
            raise httpx.UnsupportedProtocol(
                f"the URL {str(merged)!r} has the scheme {merged.scheme!r}; the client speaks http, https, "
                "ws or wss (a path such as '/users' is joined to the client's base_url)"
            )
        if merged.is_relative_url:
            merged = self.base_url.copy_with(raw_path=self.base_url.raw_path + merged.raw_path.lstrip(b"/"))
        if isinstance(url, str):
            remember(self._merged_urls, url, merged, size=512)
        return merged

    async def request(
        self, method: str, url: str | httpx.URL, *, params: Any = None, headers: Any = None,
        cookies: Any = None, content: Any = None, data: Any = None, files: Any = None, json: Any = None,
        timeout: float | None = UNSET, follow_redirects: bool | None = None,
    ) -> Response:
        __tracebackhide__ = True
        request = self.build_request(method, url, params=params, headers=headers, cookies=cookies,
                                     content=content, data=data, files=files, json=json)
        return await self.send(request, timeout=timeout, follow_redirects=follow_redirects)

    async def send(
        self, request: httpx.Request, *, timeout: float | None = UNSET, follow_redirects: bool | None = None
    ) -> Response:
        """Send a built request; follows redirects when asked, keeping the hops in ``response.history``."""
        __tracebackhide__ = True
        timeout = self._timeout(timeout)
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        hops: list[Response] = []
        while True:
            await _read_body(request)
            if observer is not None:
                observer(self, request)
            response = await self.transport.request(request, timeout=timeout, stream=False)
            self._received(response)
            if not (follow and response.has_redirect_location):
                response.history = hops
                return response
            hops.append(response)
            if len(hops) > MAX_REDIRECTS:
                raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)
            request = self._redirect(request, response)

    def _redirect(self, request: httpx.Request, response: Response) -> httpx.Request:
        """The next hop's request, by httpx's rules (``httpx.Client._build_redirect_request``)."""
        method = redirect_method(request.method, response.status_code)
        url = redirect_url(request, response)
        headers = httpx.Headers(request.headers)  # the raw pairs: a repeated header stays repeated
        if not same_origin(url, request.url):
            if not is_https_upgrade(request.url, url):
                headers.pop("authorization", None)  # credentials never follow to another origin
            headers["host"] = url.netloc.decode("ascii")
        body_dropped = method != request.method and method == "GET"
        if body_dropped:
            headers.pop("content-length", None)
            headers.pop("transfer-encoding", None)
        # The jar decides which cookies the next origin gets, not the previous request's header.
        headers.pop("cookie", None)
        redirected = httpx.Request(method, url, headers=headers, cookies=self.cookies,
                                   stream=_EMPTY if body_dropped else request.stream)
        redirected.method = method  # httpx upper-cases it; the method goes as written
        return redirected

    def _received(self, response: Response) -> None:
        if "set-cookie" in response.headers:
            self.cookies.extract_cookies(response)
        self.history.append(response)

    async def get(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("OPTIONS", url, **kwargs)

    async def post(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str | httpx.URL, **kwargs: Any) -> Response:
        __tracebackhide__ = True
        return await self.request("DELETE", url, **kwargs)

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, url: str | httpx.URL, *, timeout: float | None = UNSET, **kwargs: Any
    ) -> AsyncIterator[Response]:
        """Return at ``http.response.start``; the body is read as the block asks for it.

        Leaving the block before the body ends tells the app the client disconnected
        (``http.disconnect``) and cancels it if it has not finished after ``grace`` seconds.
        """
        __tracebackhide__ = True
        response = await self.open_stream(self.build_request(method, url, **kwargs), timeout=timeout)
        try:
            yield response
        finally:
            await response.aclose()

    async def open_stream(self, request: httpx.Request, *, timeout: float | None = UNSET) -> Response:
        """Send a built request and return at ``http.response.start``; ``await response.aclose()`` after."""
        __tracebackhide__ = True
        timeout = self._timeout(timeout)
        await _read_body(request)
        if observer is not None:
            observer(self, request)
        response = await self.transport.request(request, timeout=timeout, stream=True)
        self._received(response)
        return response

    # -- WebSockets --------------------------------------------------------------------------------

    def websocket_connect(
        self, url: str | httpx.URL, *, subprotocols: list[str] | None = None, headers: Any = None,
        timeout: float | None = UNSET,
    ) -> WebSocketSession:
        """A WebSocket session: ``async with client.websocket_connect("/ws") as ws: ...``."""
        timeout = self._timeout(timeout)
        if isinstance(subprotocols, (str, bytes)):
            # A str is a sequence too: 'chat' would go out as the subprotocols 'c', 'h', 'a', 't'.
            raise TypeError(f"subprotocols takes a list of names, such as [{subprotocols!r}], "
                            f"got the {type(subprotocols).__name__} {subprotocols!r}")
        merged = dict(self.websocket_handshake)
        if subprotocols:
            merged["sec-websocket-protocol"] = ", ".join(subprotocols)
        extra = httpx.Headers()
        if headers:
            self._update_headers(extra, headers)
        request = self.build_request("GET", url, headers={**merged, **dict(extra)})
        session = self.transport.websocket(request, timeout=timeout)
        if observer is not None:
            observer(self, session)
        self.history.append(session)
        self._sessions.append(session)
        if len(self._sessions) >= self._prune_at:
            # Forget closed sessions now and then (not on every connect: that is quadratic in open ones).
            self._sessions = [s for s in self._sessions if not s.closed]
            self._prune_at = max(64, 2 * len(self._sessions))
        return session

    # -- .http files ---------------------------------------------------------------------------------

    async def run_http(self, source: str | Path, /, *, env: str | None = None, **variables: Any) -> Exchanges:
        """Run every request of a ``.http`` file (a path) or text, in order; the ``Exchanges``.

        ``variables`` fill the ``{{name}}``s the file does not define; ``env`` picks an environment of
        ``http-client.env.json`` or ``.vscode/settings.json``. Failed ``??`` assertions are shown
        beside their exchange; ``.check()`` on the result raises for them. See docs/httpfiles.md.
        """
        __tracebackhide__ = True
        from ._httpfile.run import run_http

        return await run_http(self, source, env=env, variables=variables)

    # -- lifespan and cleanup ------------------------------------------------------------------------

    async def startup(self) -> None:
        """Run the app's lifespan startup (``async with Client(app)`` does this for you)."""
        __tracebackhide__ = True
        await self.transport.startup(self.timeout)

    async def aclose(self) -> None:
        """Close the WebSocket sessions still open, then run lifespan shutdown."""
        __tracebackhide__ = True
        for session in self._sessions:
            if session.accepted and not session.closed:
                await session.close()
        self._sessions.clear()
        await self.transport.shutdown()

    async def __aenter__(self) -> Client:
        __tracebackhide__ = True
        await self.startup()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        await self.aclose()

    @property
    def state(self) -> dict[str, Any] | None:
        """The lifespan state the app set at startup (None without lifespan)."""
        return self.transport.state

    def __repr__(self) -> str:
        return f"<Client {self.transport.describe()} at {self.base_url}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .display import client_text

        printer.text(client_text(self))

    def _repr_html_(self) -> str:
        from .display import client_html

        return client_html(self)
