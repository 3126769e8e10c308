"""The public surface: every public module's ``__all__`` and the public attributes of its classes.

Pinned from the release before the internals moved into private modules (``playground/_inprocess/``,
``_live/``, ``display/``...), plus the names added since (``Server.status``, a session's
``receive_replies`` and ``quiet_period``): a name may be added, never lost. Changing a pinned name is a change to the
API that notebooks, the README and users' code rely on; it needs an alias for the old name.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

import playground

#: each public module and its ``__all__``
PUBLIC_MODULES: dict[str, list[str]] = {
    "playground": [
        "ASGIProtocolError", "AppTimeout", "Client", "EndpointWarning", "EventLoopBlocked",
        "EventLoopBlockedWarning", "HTTPEndpoint", "LifespanError", "MessageTooLarge", "NetworkExposureWarning",
        "Response", "Server", "ServerStartupError", "Trace", "TraceEvent", "WebSocketDenied",
        "WebSocketDisconnect", "WebSocketEndpoint", "WebSocketSession", "save_har", "serve", "to_har",
    ],
    "playground.client": ["Client"],
    "playground.response": ["Response"],
    "playground.websocket": ["TranscriptLine", "WebSocketSession"],
    "playground.trace": ["Trace", "TraceEvent"],
    "playground.errors": [
        "ASGIProtocolError", "AppTimeout", "ClientDisconnected", "EventLoopBlocked", "EventLoopBlockedWarning",
        "LifespanError", "MessageTooLarge", "WebSocketDenied", "WebSocketDisconnect",
    ],
    "playground.endpoints": ["EndpointWarning", "HTTPEndpoint", "WebSocketEndpoint"],
    "playground.httpfile": [
        "Assertion", "HTTPFile", "HTTPFileError", "HTTPRequestSpec", "MessageTemplate", "Piece", "RequestTemplate",
        "Send", "WaitForServer", "WebSocketSpec", "parse", "parse_file", "render", "resolve",
    ],
    "playground.magics": [
        "Exchanges", "load_ipython_extension", "run_http", "run_http_file", "run_ws", "unload_ipython_extension",
    ],
    "playground.server": ["NetworkExposureWarning", "Server", "ServerStartupError", "serve"],
    "playground.testing": ["DEFAULT_TIMEOUT", "TestClient", "WebSocketTestSession"],
}

#: each public class and the public attributes its own (playground) classes define
PUBLIC_CLASS_ATTRIBUTES: dict[str, list[str]] = {
    "Client": [
        "aclose", "base_url", "build_request", "delete", "get", "head", "open_stream", "options", "patch", "post",
        "put", "request", "run_http", "send", "startup", "state", "stream", "websocket_connect",
        "websocket_handshake",
    ],
    "Exchanges": ["check", "failures", "outcomes", "passed"],
    "HTTPEndpoint": ["allowed_methods", "dispatch", "method_not_allowed"],
    "HTTPFile": ["error", "path"],
    "HTTPRequestSpec": ["body", "http_version", "line_number", "name"],
    "RequestTemplate": ["follow_redirects", "is_websocket", "timeout", "title"],
    "Response": [
        "app_exception", "context", "early_hints", "template", "to_curl", "to_http", "to_httpie", "trace",
        "trailers",
    ],
    "Server": ["link", "logs", "running", "start", "state", "status", "stop", "url"],
    "TestClient": [
        "app_state", "base_url", "build_request", "close", "cookies", "delete", "follow_redirects", "get", "head",
        "headers", "history", "options", "patch", "post", "put", "request", "send", "stream", "timeout",
        "websocket_connect",
    ],
    "Trace": [
        "blocks", "duration", "events", "finish", "mermaid", "outcome", "outcome_offset", "record", "scope",
        "seen_from", "started_at", "types",
    ],
    "TraceEvent": ["direction", "message", "offset"],
    "TranscriptLine": ["data", "kind", "offset", "sender"],
    "WebSocketEndpoint": ["decode", "dispatch", "encoding", "on_connect", "on_disconnect", "on_receive"],
    "WebSocketSession": [
        "accept_headers", "close", "closed", "connect", "peer", "quiet_period", "receive", "receive_bytes",
        "receive_json", "receive_replies", "receive_text", "send", "send_bytes", "send_json", "send_text",
        "transcript",
    ],
    "WebSocketSpec": ["line_number", "name", "subprotocols"],
    "WebSocketTestSession": [
        "close", "receive", "receive_bytes", "receive_json", "receive_text", "send", "send_bytes", "send_json",
        "send_text",
    ],
}

#: attributes set per instance (so not on the class): the documented ones
INSTANCE_ATTRIBUTES: dict[str, list[str]] = {
    "Client": ["app", "cookies", "follow_redirects", "headers", "history", "timeout"],
    "Server": ["app", "host", "port", "public_url", "startup_timeout"],
    "TestClient": ["app", "async_backend", "portal", "raise_server_exceptions"],
    "WebSocketSession": ["accepted", "accepted_subprotocol", "close_code", "close_reason", "closed_by", "request",
                         "timeout", "trace", "url"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC_MODULES))
def test_a_public_modules_all_is_as_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC_MODULES[module_name])
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{module_name}.{name}"


def _public_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for module_name, names in PUBLIC_MODULES.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                found.setdefault(name, obj)
    return found


@pytest.mark.parametrize("class_name", sorted(PUBLIC_CLASS_ATTRIBUTES))
def test_a_public_class_keeps_its_attributes(class_name: str) -> None:
    klass = _public_classes()[class_name]
    missing = [name for name in PUBLIC_CLASS_ATTRIBUTES[class_name] if not hasattr(klass, name)]
    assert missing == []


def test_documented_instance_attributes_are_there() -> None:
    from starlette.responses import PlainTextResponse

    from playground.testing import TestClient

    async def app(scope: dict, receive: object, send: object) -> None:
        await PlainTextResponse("hi")(scope, receive, send)  # type: ignore[arg-type]

    server = playground.Server(app)  # not started: no socket is opened
    instances = {"Client": playground.Client(app), "Server": server, "TestClient": TestClient(app)}
    for class_name, instance in instances.items():
        missing = [name for name in INSTANCE_ATTRIBUTES[class_name] if not hasattr(instance, name)]
        assert missing == [], class_name


@pytest.mark.anyio
async def test_a_sessions_documented_attributes_are_there() -> None:
    class Echo(playground.WebSocketEndpoint):
        encoding = "text"

        async def on_receive(self, websocket: object, data: str) -> None:
            await websocket.send_text(data)  # type: ignore[attr-defined]

    async with playground.Client(Echo).websocket_connect("/") as session:
        await session.send_text("hi")
        assert await session.receive_text() == "hi"
    missing = [name for name in INSTANCE_ATTRIBUTES["WebSocketSession"] if not hasattr(session, name)]
    assert missing == [] and session.close_code == 1000


def test_every_module_under_playground_outside_the_pinned_ones_is_private() -> None:
    """What a user may import is the pinned modules (and the pytest plugin, the extension's entry point)."""
    import pkgutil

    public = {name.rsplit(".", 1)[-1] for name in PUBLIC_MODULES} | {"pytest_plugin", "display"}
    leaked = [info.name for info in pkgutil.iter_modules(playground.__path__)
              if not info.name.startswith("_") and info.name not in public]
    assert leaked == []
