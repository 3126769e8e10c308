"""The IPython extension: %http, %%http and %%ws in a real InteractiveShell, on the test's own loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apps import Hello
from ipython_shell import playground_shell, run
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from playground import Client, HTTPEndpoint, Response, WebSocketEndpoint, WebSocketSession
from playground.magics import Exchanges, run_http

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    # IPython's run_cell_async is asyncio code; the magics' own calls are anyio and also run on trio.
    return "asyncio"


class Users(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path, "query": request.url.query,
                             "x-token": request.headers.get("x-token")})

    async def post(self, request: Request) -> JSONResponse:
        return JSONResponse({"got": await request.json()}, status_code=201)


class Shout(WebSocketEndpoint):
    encoding = "text"

    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("welcome")

    async def on_receive(self, websocket: WebSocket, data: str) -> None:
        if data == "bye":
            await websocket.close(code=1001, reason="asked to leave")
            return
        await websocket.send_text(data.upper())
        if data.endswith("!"):
            await websocket.send_text("(twice)")


@pytest.fixture
def shell() -> Iterator[Any]:
    with playground_shell(Users=Users, Shout=Shout, client=Client(Users), wsclient=Client(Shout)) as shell:
        yield shell


def test_the_magics_are_registered_and_documented(shell: Any) -> None:
    magics = shell.magics_manager.magics
    assert "http" in magics["line"]
    assert "http" in magics["cell"]
    assert "ws" in magics["cell"]
    assert "request" in (shell.find_line_magic("http").__doc__ or "")
    assert any(getattr(t, "playground", False) for t in shell.input_transformers_cleanup)


async def test_cell_magic_returns_the_response_from_the_client(shell: Any) -> None:
    client = shell.user_ns["client"]
    response = await run(shell, "%%http client\nGET /users/tom\n    ?verbose=1\n")
    assert isinstance(response, Response)
    assert response is client.history[-1]  # the very object the API returned, kept in the client's history
    assert response.json() == {"path": "/users/tom", "query": "verbose=1", "x-token": None}
    assert shell.user_ns["_"] is response


async def test_variables_come_from_the_notebook_and_braces_survive(shell: Any) -> None:
    shell.user_ns.update({"name": "tom", "token": "s3cret"})
    response = await run(shell, "%%http client\nGET /users/{{name}}\n    ?verbose=1\nX-Token: {{token}}\n")
    assert response.json() == {"path": "/users/tom", "query": "verbose=1", "x-token": "s3cret"}


async def test_several_requests_give_a_list(shell: Any) -> None:
    cell = '%%http Users\nGET /a\n\n###\nPOST /b\nContent-Type: application/json\n\n{"n": 1}\n'
    result = await run(shell, cell)
    assert isinstance(result, Exchanges) and isinstance(result, list)
    assert [r.status_code for r in result] == [200, 201]
    assert result[1].json() == {"got": {"n": 1}}
    assert "POST /b" in result._repr_html_() and "201" in result._repr_html_()


async def test_line_magic(shell: Any) -> None:
    response = await run(shell, "%http client GET /line")
    assert response.json()["path"] == "/line"
    assert response is shell.user_ns["client"].history[-1]


async def test_line_magic_assigned(shell: Any) -> None:
    await run(shell, "r = %http Users GET /assigned\nstatus = r.status_code")
    assert shell.user_ns["status"] == 200
    assert shell.user_ns["r"].json()["path"] == "/assigned"


async def test_ws_magic_sends_each_line_and_returns_the_closed_session(shell: Any) -> None:
    session = await run(shell, "%%ws wsclient /ws\nhello\nhey!\n")
    assert isinstance(session, WebSocketSession)
    assert session is shell.user_ns["wsclient"].history[-1]
    said = [(line.sender, line.kind, line.data) for line in session.transcript]
    assert said == [
        ("client", "connect", None), ("app", "accept", None), ("app", "text", "welcome"),
        ("client", "text", "hello"), ("app", "text", "HELLO"),
        ("client", "text", "hey!"), ("app", "text", "HEY!"), ("app", "text", "(twice)"),
        ("client", "close", (1000, "")),
    ]
    assert (session.closed_by, session.close_code) == ("client", 1000)


async def test_ws_magic_stops_when_the_app_closes(shell: Any) -> None:
    session = await run(shell, "%%ws Shout /ws\nbye\nnever sent\n")
    assert (session.closed_by, session.close_code, session.close_reason) == ("app", 1001, "asked to leave")
    assert "never sent" not in [line.data for line in session.transcript]


async def test_websocket_in_http_format_with_wait_for_server(shell: Any) -> None:
    cell = "%%http wsclient\nWEBSOCKET /ws\n\n=== wait-for-server\none\n=== wait-for-server\ntwo\n"
    session = await run(shell, cell)
    assert isinstance(session, WebSocketSession)
    sent = [line.data for line in session.transcript if line.sender == "client" and line.kind == "text"]
    got = [line.data for line in session.transcript if line.sender == "app" and line.kind == "text"]
    assert sent == ["one", "two"]
    assert got == ["welcome", "ONE", "TWO"]


async def test_a_bad_request_names_the_line(shell: Any) -> None:
    from playground.httpfile import HTTPFileError

    with pytest.raises(HTTPFileError, match=r"line 2: 'not a header'"):
        await run(shell, "%%http client\nGET /\nnot a header\n")


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])  # run_http needs no IPython: anyio code
async def test_a_non_ascii_header_in_http_text_names_the_header() -> None:
    with pytest.raises(ValueError, match=r"header 'X-Name'.*non-ASCII.*'José'"):
        await run_http(Hello, "GET /\nX-Name: José\n")


async def test_an_unknown_target_is_a_name_error(shell: Any) -> None:
    with pytest.raises(NameError, match="nobody"):
        await run(shell, "%%http nobody\nGET /\n")


def test_sync_magic_without_a_loop_runs_the_request(shell: Any) -> None:
    # A plain terminal: no loop is running, so the real magic runs the request itself.
    response = shell.run_cell_magic("http", "Users", "GET /sync\n")
    assert isinstance(response, Response) and response.json()["path"] == "/sync"
    session = shell.run_cell_magic("ws", "Shout /ws", "hi\n")
    assert [line.data for line in session.transcript if line.sender == "app" and line.kind == "text"] == [
        "welcome", "HI"]


async def test_sync_magic_inside_a_running_loop_explains(shell: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="autoawait"):
        shell.run_cell_magic("http", "Users", "GET /\n")


def test_usage_errors(shell: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="needs a target"):
        shell.run_cell_magic("http", "", "GET /\n")
    with pytest.raises(UsageError, match="no 'nobody' in the notebook"):
        shell.run_cell_magic("http", "nobody", "GET /\n")
    with pytest.raises(UsageError, match="no request"):
        shell.run_line_magic("http", "Users")
    with pytest.raises(UsageError, match="no path"):
        shell.run_cell_magic("ws", "Shout", "hi\n")


def test_no_var_expand_keeps_double_braces(shell: Any) -> None:
    shell.user_ns["name"] = "ann"
    response = shell.run_line_magic("http", "Users GET /u/{{name}}")
    assert response.json()["path"] == "/u/ann"


def test_unload_removes_everything(shell: Any) -> None:
    shell.run_cell("%unload_ext playground", store_history=False).raise_error()
    try:
        assert "http" not in shell.magics_manager.magics["cell"]
        assert not any(getattr(t, "playground", False) for t in shell.input_transformers_cleanup)
        assert shell.transform_cell("%%http client\nGET /\n").startswith("get_ipython().run_cell_magic")
    finally:
        shell.run_cell("%load_ext playground", store_history=False).raise_error()


def test_endpoint_classes_get_their_display_after_load_ext(shell: Any) -> None:
    data, _ = shell.display_formatter.format(Users)
    assert "allows:" in data["text/plain"] and "GET, HEAD, POST" in data["text/plain"]
    assert "Users" in data["text/html"]
    data, _ = shell.display_formatter.format(int)  # every other class is shown as before
    assert data == {"text/plain": "int"}


def test_transformer_leaves_other_cells_alone(shell: Any) -> None:
    assert shell.transform_cell("x = 1\n") == "x = 1\n"
    assert "run_cell_magic" in shell.transform_cell("%%http 1bad\nGET /\n")  # left for the real magic to explain
    shell.autoawait = False
    try:
        assert "run_cell_magic" in shell.transform_cell("%%http client\nGET /\n")
    finally:
        shell.autoawait = True

