"""display/ as a package: loaded a module at a time, and its endpoint display tells what the endpoint does.

The endpoint display reads the endpoints' own rules (``endpoints.allowed_methods_of`` and
``handler_name``), so what it says is checked here against real requests, for our classes and for
Starlette's.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import starlette.endpoints
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

import playground.display
from playground import Client, HTTPEndpoint, WebSocketEndpoint
from playground.display import endpoint_html, endpoint_text
from playground.display.common import NO_METHODS, http_handlers
from playground.endpoints import HTTP_METHODS

pytestmark = pytest.mark.anyio


def test_import_playground_loads_only_the_formatters_of_the_displays() -> None:
    code = "import sys, playground\nprint(' '.join(sorted(m for m in sys.modules if 'display' in m)))\n"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["playground.display", "playground.display.formatters"]


def test_every_display_name_is_reached_through_the_package() -> None:
    for name in playground.display.__all__:
        function = getattr(playground.display, name)
        assert callable(function) and function.__name__ == name
        assert function.__module__.startswith("playground.display.")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        playground.display.nothing  # noqa: B018


def _endpoint(handlers: list[str], base: type) -> type:
    def handler_named(name: str) -> Any:
        async def handler(self: Any, request: Request) -> Response:
            return PlainTextResponse(name, headers={"x-handler": name})  # a HEAD response keeps its headers

        return handler

    return type("Endpoint", (base,), {name: handler_named(name) for name in handlers})


@pytest.mark.parametrize("base", [HTTPEndpoint, starlette.endpoints.HTTPEndpoint], ids=["ours", "starlette"])
@pytest.mark.parametrize("handlers", [[], ["get"], ["head"], ["get", "head"], ["post", "put"],
                                      ["get", "delete", "query"], ["options", "patch"]])
async def test_the_endpoint_display_says_which_handler_answers_each_method(
    base: type, handlers: list[str]
) -> None:
    cls = _endpoint(handlers, base)
    said = {method: handler.name for handler in http_handlers(cls) for method in handler.serves.split(", ")}
    client = Client(cls)
    for method in HTTP_METHODS:
        response = await client.request(method, "/")
        if method in said:
            assert response.headers["x-handler"] == said[method], method
        else:
            assert response.status_code == 405, method
    allows = ", ".join(said) or NO_METHODS
    assert f"allows: {allows}" in endpoint_text(cls)
    assert re.findall(r'">([A-Z]+)</span>', endpoint_html(cls)) == list(said)  # a badge per allowed method


def test_an_inherited_hook_names_its_class() -> None:
    class Base(WebSocketEndpoint):
        async def on_receive(self, websocket: Any, data: Any) -> None:
            """Echo."""

    class Child(Base):
        encoding = "json"

    text = endpoint_text(Child)
    assert "encoding: 'json' (json messages; anything else closes with 1003)" in text
    assert "on_receive(self, websocket: 'Any', data: 'Any') -> 'None'  async, from " in text
    assert "test_an_inherited_hook_names_its_class.<locals>.Base → each message" in text
    assert " from test_an_inherited_hook_names_its_class.&lt;locals&gt;.Base</small>" in endpoint_html(Child)
