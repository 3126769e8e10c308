"""Building the ASGI connection scope from an httpx request: complete, and honest about its values."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import httpx

ASGI = {"version": "3.0", "spec_version": "2.4"}
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: A WebSocket handshake goes out as an http(s) request; its scope and its URL say ws(s).
WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}
HTTP_EXTENSIONS: dict[str, dict[str, Any]] = {
    "http.response.trailers": {},
    "http.response.debug": {},
    "http.response.early_hint": {},
}
WEBSOCKET_EXTENSIONS: dict[str, dict[str, Any]] = {"websocket.http.response": {}}


# What the scope takes from a URL, kept per URL object: a client reuses the same few URLs, and
# decoding them is a large share of building a scope. The entry holds the URL first, so its id stays
# its own while the entry is kept.
URLParts = tuple[httpx.URL, str, bytes, bytes, tuple[str, int]]  # url, path, raw_path, query, server
_url_parts: dict[int, URLParts] = {}

# Each scope's header pairs, shared between scopes: a pair is an immutable tuple, and a client sends
# the same few pairs again and again. Every new tuple is one more object for the garbage collector
# until a collection finds it holds only bytes; with thousands of sessions open, that adds up. Each
# scope still gets a list of its own, so an app or middleware may change it.
_header_pairs: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
CACHE_SIZE = 1024  # entries in each cache

K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V, size: int = CACHE_SIZE) -> V:
    """Keep ``value`` in a bounded cache and return it; when the cache is full, its oldest entry goes.

    One out for one in: with every URL new (a session number in each), emptying a full cache at once
    would hand the garbage collector's allocation count a thousand frees while it can take only a
    few hundred, and full collections would come sooner.
    """
    if len(cache) >= size:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


def _parts_of(url: httpx.URL, scheme: str) -> URLParts:
    parts = _url_parts.get(id(url))
    if parts is not None and parts[0] is url:
        return parts
    server = (url.host, DEFAULT_PORTS[scheme] if url.port is None else url.port)  # port 0 is a port
    return remember(_url_parts, id(url), (url, url.path, url.raw_path.partition(b"?")[0], url.query, server))


# What HTTP/1.1 lets a client send, by h11's grammar (RFC 7230's, as h11 and so httpx check it when
# the client is live): a name is a token; a value is runs of bytes other than NUL and whitespace,
# joined by spaces or tabs, so no CR or LF (a header smuggled into another) and no space at either end.
# tests/client/test_header_rule.py holds this to h11's own answer for every byte.
_FIELD_VCHAR = rb"[^\x00\s]"
_HEADER_NAME = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+\Z")
_HEADER_VALUE = re.compile(rb"(?:%s+(?:[ \t]+%s+)*)?\Z" % (_FIELD_VCHAR, _FIELD_VCHAR))


def _scope_header(pair: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    shared = _header_pairs.get(pair)
    if shared is None:
        # Checked once per distinct pair, like the live client: an app must not see a header that no
        # server would have let through. The same error and message as live mode.
        name, value = pair
        if not _HEADER_NAME.match(name):
            raise httpx.LocalProtocolError(f"Illegal header name {name!r}")
        if not _HEADER_VALUE.match(value):
            raise httpx.LocalProtocolError(f"Illegal header value {value!r}")
        # ASGI wants lower-case header names; httpx keeps the caller's spelling in ``raw``.
        shared = remember(_header_pairs, pair, (name.lower(), value))
    return shared


def _common(
    request: httpx.Request, scheme: str, root_path: str, client: tuple[str, int], state: dict[str, Any] | None
) -> dict[str, Any]:
    _, path, raw_path, query, server = _parts_of(request.url, scheme)
    scope: dict[str, Any] = {
        "asgi": ASGI.copy(),
        "http_version": "1.1",
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": root_path,
        "headers": [_scope_header(pair) for pair in request.headers.raw],
        "client": client,
        "server": server,
    }
    if state is not None:
        # Each connection gets a shallow copy of the lifespan state, as uvicorn does.
        scope["state"] = state.copy()
    return scope


def http_scope(
    request: httpx.Request, *, root_path: str = "", client: tuple[str, int], state: dict[str, Any] | None
) -> dict[str, Any]:
    scope = _common(request, request.url.scheme, root_path, client, state)
    scope["type"] = "http"
    scope["method"] = request.method
    scope["extensions"] = {name: {} for name in HTTP_EXTENSIONS}
    return scope


def parse_subprotocols(header_values: list[str]) -> list[str]:
    """``Sec-WebSocket-Protocol`` values split on commas, without the spaces around them (the one
    split: the scope, the network client and ``.http`` files use it)."""
    return [p.strip() for value in header_values for p in value.split(",") if p.strip()]


def websocket_url(url: httpx.URL) -> str:
    """A handshake request's URL as the session's: ws:// or wss://. A string edit, since the scheme
    begins the URL (parsing the URL again would cost a tenth of a connect)."""
    return WEBSOCKET_SCHEMES.get(url.scheme, url.scheme) + str(url)[len(url.scheme):]


def websocket_scope(
    request: httpx.Request, *, root_path: str = "", client: tuple[str, int], state: dict[str, Any] | None
) -> dict[str, Any]:
    scheme = WEBSOCKET_SCHEMES.get(request.url.scheme, request.url.scheme)
    scope = _common(request, scheme, root_path, client, state)
    scope["type"] = "websocket"
    scope["subprotocols"] = parse_subprotocols(request.headers.get_list("sec-websocket-protocol"))
    scope["extensions"] = {name: {} for name in WEBSOCKET_EXTENSIONS}
    return scope
