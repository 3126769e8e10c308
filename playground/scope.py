"""Building the ASGI connection scope from an httpx request: complete, and honest about its values."""

from __future__ import annotations

from typing import Any

import httpx

ASGI = {"version": "3.0", "spec_version": "2.4"}
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
HTTP_EXTENSIONS: dict[str, dict[str, Any]] = {
    "http.response.trailers": {},
    "http.response.debug": {},
    "http.response.early_hint": {},
}
WEBSOCKET_EXTENSIONS: dict[str, dict[str, Any]] = {"websocket.http.response": {}}


def _common(
    request: httpx.Request, scheme: str, root_path: str, client: tuple[str, int], state: dict[str, Any] | None
) -> dict[str, Any]:
    url = request.url
    raw_path, _, _ = url.raw_path.partition(b"?")
    scope: dict[str, Any] = {
        "asgi": dict(ASGI),
        "http_version": "1.1",
        "scheme": scheme,
        "path": url.path,
        "raw_path": raw_path,
        "query_string": url.query,
        "root_path": root_path,
        # ASGI wants lower-case header names; httpx keeps the caller's spelling in ``raw``.
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": client,
        "server": (url.host, url.port or DEFAULT_PORTS[scheme]),
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
    """``Sec-WebSocket-Protocol`` values split on commas, without the spaces around them."""
    return [p.strip() for value in header_values for p in value.split(",") if p.strip()]


def websocket_scope(
    request: httpx.Request, *, root_path: str = "", client: tuple[str, int], state: dict[str, Any] | None
) -> dict[str, Any]:
    scheme = {"http": "ws", "https": "wss"}.get(request.url.scheme, request.url.scheme)
    scope = _common(request, scheme, root_path, client, state)
    scope["type"] = "websocket"
    scope["subprotocols"] = parse_subprotocols(request.headers.get_list("sec-websocket-protocol"))
    scope["extensions"] = {name: {} for name in WEBSOCKET_EXTENSIONS}
    return scope
