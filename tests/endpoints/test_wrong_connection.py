"""An endpoint given a connection of another kind: Starlette's AssertionError, saying what is needed."""

from __future__ import annotations

import pytest
from asgi_driver import http_scope, websocket_scope

from playground import HTTPEndpoint, WebSocketEndpoint


class Page(HTTPEndpoint):
    pass


class Feed(WebSocketEndpoint):
    pass


@pytest.mark.parametrize(
    ("endpoint", "scope", "message"),
    [
        (Page, websocket_scope(), "Page is an HTTPEndpoint; it got a 'websocket' connection "
                                  "(a WebSocket needs a WebSocketEndpoint)"),
        (Feed, http_scope(), "Feed is a WebSocketEndpoint; it got a 'http' connection "
                             "(HTTP requests need an HTTPEndpoint)"),
        (Page, {"type": "lifespan"}, "Page is an HTTPEndpoint; it got a 'lifespan' connection "
                                     "(an endpoint answers only its own kind of connection)"),
        (Feed, {"type": "lifespan"}, "Feed is a WebSocketEndpoint; it got a 'lifespan' connection "
                                     "(an endpoint answers only its own kind of connection)"),
    ],
)
def test_the_wrong_kind_of_connection_says_what_it_needs(endpoint: type, scope: dict, message: str) -> None:
    with pytest.raises(AssertionError) as info:
        endpoint(scope, None, None)
    assert str(info.value) == message
