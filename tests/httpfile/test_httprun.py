"""Running .http files: references between requests, assertions, environments, the API and the magics."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ipython_shell import playground_shell, run

from playground import Client, Response, WebSocketSession
from playground._httpfile.run import HTTPAssertionError  # named in docs/httpfiles.md; no public module exports it
from playground.httpfile import HTTPFileError
from playground.magics import Exchanges

pytestmark = pytest.mark.anyio

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


@pytest.fixture
def notes(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(NOTEBOOKS))
    import notes_app

    return notes_app


@pytest.fixture
def client(notes: Any) -> Client:
    return Client(notes.make_app())


async def test_the_notebook_file_runs_every_request_in_order(client: Client) -> None:
    exchanges = await client.run_http(NOTEBOOKS / "notes.http", env="workshop")
    assert isinstance(exchanges, Exchanges)
    assert [step.template.title for step in exchanges.steps] == ["login", "create", "created", "anonymous", "feed"]
    login, create, created, anonymous, feed = exchanges
    assert isinstance(login, Response) and isinstance(feed, WebSocketSession)
    assert create.request.headers["authorization"] == "Bearer token-ada"  # {{login.response.body.$.token}}
    assert created.request.url.path == "/notes/1"  # {{create.response.headers.Location}}
    assert [r.status_code for r in (login, create, created, anonymous)] == [200, 201, 200, 401]
    assert [json.loads(line.data) for line in feed.transcript if line.sender == "app" and line.kind == "text"] == [
        {"hello": "ada", "notes": 1}, {"echo": "hello", "notes": 1}]
    assert exchanges.passed and len(exchanges.outcomes) == 14
    assert exchanges.check() is exchanges
    text = repr(exchanges)
    assert text == "<Exchanges: 5 requests, 14/14 assertions passed>"


async def test_a_failed_assertion_says_file_line_expected_and_actual(client: Client, tmp_path: Path) -> None:
    http = tmp_path / "api.http"
    http.write_text("# @name who\nPOST /login\n\n{\"user\": \"ada\", \"password\": \"{{pw}}\"}\n\n"
                    "?? status == 200\n?? body $.error exists\n?? header content-type includes xml\n", encoding="utf-8")
    exchanges = await client.run_http(str(http), pw="wrong")
    assert not exchanges.passed
    failures = exchanges.failures
    assert [(f.line_number, f.expected, f.actual) for f in failures] == [(6, 200, 401),
                                                                         (8, "xml", "application/json")]
    assert failures[0].why == "expected 200, got 401"
    with pytest.raises(HTTPAssertionError) as info:
        exchanges.check()
    message = str(info.value)
    assert message.startswith("2 assertions failed:\n")
    assert f"{http}, line 6: ?? status == 200: failed: expected 200, got 401" in message
    assert (f'{http}, line 8: ?? header content-type includes xml: failed: expected a value that includes '
            '"xml", got "application/json"') in message
    shown = exchanges_text = _text(exchanges)
    assert "✗ line 6: ?? status == 200  — expected 200, got 401" in shown
    assert "✓ line 7: ?? body $.error exists" in exchanges_text
    assert "1 of 3 assertions passed, 2 failed" in shown
    html = exchanges._repr_html_()
    assert "✗" in html and "expected 200, got 401" in html and "rgba(218,54,51" in html


def _text(value: Any) -> str:
    from IPython.lib.pretty import pretty

    return pretty(value)


@pytest.mark.parametrize(
    ("assertion", "passes"),
    [
        ("status == 201", True), ("status != 201", False), ("status >= 200", True), ("status < 300", True),
        ("status > 201", False), ("header location == /notes/1", True), ("header location startsWith /notes", True),
        ("header location endsWith /2", False), ("header x-nope exists", False), ("header location exists", True),
        ("body $.id == 1", True), ("body $.id == 1.0", True), ("body $.id == \"1\"", False),
        ("body $.text == hello world", True), ('body $.text == "hello world"', True),
        ("body $.text matches ^hel+o", True), ("body $.tags includes b", True), ('body $.tags == ["a","b"]', True),
        ("body $.tags[-1] == b", True), ("body $.tags[2] exists", False), ("body $.done == false", True),
        ("body $.done == 0", False), ("body $.none == null", True), ("body $.id > {{small}}", True),
        ("body includes hello", True), ("body $.text contains {{word}}", True), ("body $.text < 3", False),
    ],
)
async def test_assertion_predicates(assertion: str, passes: bool) -> None:
    from starlette.responses import JSONResponse

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = {"id": 1, "text": "hello world", "tags": ["a", "b"], "done": False, "none": None}
        await JSONResponse(body, status_code=201, headers={"Location": "/notes/1"})(scope, receive, send)

    exchanges = await Client(app).run_http(f"POST /\n\n?? {assertion}\n", small=0, word="world")
    [outcome] = exchanges.outcomes
    assert outcome.passed is passes, outcome.why


async def test_references_to_requests_headers_and_bodies(client: Client) -> None:
    text = (
        "# @name login\nPOST /login\nX-Trace: t-1\n\n{\"user\": \"ada\", \"password\": \"lovelace\"}\n\n###\n"
        "@token = {{login.response.body.$.token}}\n"
        "GET /echo?sent={{%login.request.body.*}}&trace={{login.request.headers.X-Trace}}&t={{token}}"
        "&type={{login.response.headers.content-type}}\n"
    )
    _, echo = await client.run_http(text)
    query = echo.request.url.params
    assert json.loads(query["sent"]) == {"user": "ada", "password": "lovelace"}
    assert (query["trace"], query["t"], query["type"]) == ("t-1", "token-ada", "application/json")


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("{{login.response.body.$.nope}}", "$.nope is not in the response body of 'login'"),
        ("{{login.response.headers.X-Nope}}", "has no header 'X-Nope' (it has: content-length, content-type)"),
        ("{{login.response.headers}}", "name the header"),
        ("{{login.response.body.//token}}", "XPath is not supported"),
        ("{{anon.response.body.$.x}}", "is not JSON (text/plain; charset=utf-8)"),
        ("{{login.response.body.$[*]}}", "selects several values"),
    ],
)
async def test_a_reference_that_finds_nothing_names_the_line(notes: Any, reference: str, fragment: str) -> None:
    from starlette.responses import PlainTextResponse

    app = notes.make_app()
    app.router.routes.append(__import__("starlette.routing").routing.Route("/plain", lambda r: PlainTextResponse("x")))
    client = Client(app)
    text = ("# @name login\nPOST /login\n\n{\"user\": \"ada\", \"password\": \"lovelace\"}\n\n###\n"
            "# @name anon\nGET /plain\n\n###\n" f"GET /x?v={reference}\n")
    with pytest.raises(HTTPFileError) as info:
        await client.run_http(text)
    assert info.value.line_number == 11
    assert fragment in str(info.value)
    assert len(info.value.exchanges) == 2  # what ran before the mistake is kept on the error


async def test_websocket_assertions(client: Client) -> None:
    text = ("# @name login\nPOST /login\n\n{\"user\": \"ada\", \"password\": \"lovelace\"}\n\n###\n"
            "WEBSOCKET /feed\nAuthorization: Bearer {{login.response.body.$.token}}\n\n{\"text\": \"a\"}\n"
            "\n?? message 1 $.hello == ada\n?? message 2 $.echo == b\n?? message 3 exists\n?? close == 1000\n"
            "###\nWEBSOCKET /feed\n\n?? close == 1008\n?? message 1 exists\n")
    exchanges = await client.run_http(text)
    assert [(o.line_number, o.passed, o.why) for o in exchanges.outcomes] == [
        (12, True, ""), (13, False, 'expected "b", got "a"'),
        (14, False, "expected it to exist, got nothing (the app sent 2 messages)"), (15, True, ""),
        (19, True, ""), (20, False, "expected it to exist, got nothing (the app sent 0 messages)")]


async def test_environments_jetbrains_private_and_vscode(tmp_path: Path, client: Client) -> None:
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text(
        '{\n  // REST Client\n  "rest-client.environmentVariables": {\n    "$shared": {"user": "ada", "pw": "x"},\n'
        '    "local": {"pw": "from-vscode", "only": "vscode",},\n  },\n}\n', encoding="utf-8")
    project = tmp_path / "api"
    project.mkdir()
    (project / "http-client.env.json").write_text('{"local": {"pw": "public"}, "ci": {"pw": "ci"}}', encoding="utf-8")
    (project / "http-client.private.env.json").write_text('{"local": {"pw": "lovelace"}}', encoding="utf-8")
    http = project / "login.http"
    http.write_text("POST /login\n\n{\"user\": \"{{user}}\", \"password\": \"{{pw}}\", \"only\": \"{{only}}\"}\n"
                    "\n?? status == 200\n", encoding="utf-8")
    exchanges = await client.run_http(http, env="local")
    assert exchanges.passed
    assert json.loads(exchanges[0].request.content) == {"user": "ada", "password": "lovelace", "only": "vscode"}
    assert not (await client.run_http(http, env="ci", only="given")).passed  # password "ci"
    with pytest.raises(ValueError, match=r"no environment 'prod' \(known: ci, local; read: .*settings.json"):
        await client.run_http(http, env="prod")
    with pytest.raises(HTTPFileError, match=r"\{\{only\}\} is not defined"):
        await client.run_http(http)  # no environment: only $shared


async def test_a_file_path_or_a_text(tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "body.json").write_text('{"user": "ada", "password": "lovelace"}', encoding="utf-8")
    (tmp_path / "login.http").write_text("POST /login\n\n< ./body.json\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    [by_name] = await client.run_http("login.http")  # a one-line string naming a file
    [by_path] = await client.run_http(tmp_path / "login.http")
    [as_text] = await client.run_http("POST /login\n\n< ./body.json")
    assert by_name.status_code == by_path.status_code == as_text.status_code == 200
    with pytest.raises(FileNotFoundError, match=r"cannot read the \.http file 'missing\.http'"):
        await client.run_http("missing.http")
    [request_line] = await client.run_http("GET /files/api.http")  # a request line, not a file name
    assert request_line.request.url.path == "/files/api.http"


async def test_without_assertions_the_exchanges_show_as_each_one_does(client: Client) -> None:
    from playground.display import response_text

    exchanges = await client.run_http("GET /notes\n\n###\n# @name again\nGET /notes\n")
    assert _text(exchanges) == response_text(exchanges[0]) + "\n\n" + response_text(exchanges[1])
    assert exchanges._repr_html_() == exchanges[0]._repr_html_() + exchanges[1]._repr_html_()


async def test_a_crashing_app_raises_its_own_error(notes: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await Client(app).run_http("GET /\n\n?? status == 200\n")


async def test_request_options_from_directives(client: Client) -> None:
    from starlette.responses import RedirectResponse

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await RedirectResponse("/elsewhere")(scope, receive, send)

    following = Client(app, follow_redirects=True)
    with pytest.raises(httpx.TooManyRedirects, match=r"more than \d+ redirects"):
        await following.run_http("GET /")
    [response] = await following.run_http("# @no-redirect\n# @timeout 2\nGET /\n")
    assert response.status_code == 307


# -- the magics -------------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # IPython's run_cell_async is asyncio code


@pytest.fixture
def shell(notes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("notes.http", "http-client.env.json"):
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with playground_shell(client=Client(notes.make_app()), other=Client(notes.make_app())) as shell:
        yield shell


async def test_http_file_magic_gives_the_same_outcome_as_the_api(shell: Any) -> None:
    from_magic = await run(shell, "%http_file client notes.http --env workshop")
    from_api = await shell.user_ns["other"].run_http("notes.http", env="workshop")
    assert isinstance(from_magic, Exchanges) and from_magic.passed
    assert ([(o.line_number, o.passed, o.actual) for o in from_magic.outcomes]
            == [(o.line_number, o.passed, o.actual) for o in from_api.outcomes])
    assert _text(from_magic).replace(" ms)", "") .count("✓") == 14
    shell.user_ns["third"] = Client(__import__("notes_app").make_app())
    await run(shell, "result = %http_file third 'notes.http' --env=workshop")
    assert shell.user_ns["result"].passed


async def test_cell_with_assertions_gives_exchanges_and_names_from_the_notebook(shell: Any) -> None:
    shell.user_ns.update({"who": "ada", "secret": "lovelace"})
    cell = ('%%http client\n# @name login\nPOST /login\n\n{"user": "{{who}}", "password": "{{secret}}"}\n\n'
            "?? body $.token == token-{{who}}\n")
    result = await run(shell, cell)
    assert isinstance(result, Exchanges) and result.passed and len(result) == 1
    assert isinstance(await run(shell, "%%http client\nGET /notes\n"), Response)  # no assertions: the response
    envs = await run(shell, '%%http client --env workshop\nPOST /login\n\n{"user": "{{user}}", "password": '
                            '"{{password}}"}\n\n?? status == 200\n')
    assert envs.passed


def test_http_file_usage_errors(shell: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="needs a target"):
        shell.run_line_magic("http_file", "")
    with pytest.raises(UsageError, match="write '%http_file TARGET PATH"):
        shell.run_line_magic("http_file", "client")
    with pytest.raises(UsageError, match="--env needs the name"):
        shell.run_line_magic("http_file", "client notes.http --env")
    with pytest.raises(UsageError, match="unexpected 'extra'"):
        shell.run_cell_magic("http", "client extra", "GET /\n")
    assert "http_file" in shell.magics_manager.magics["line"]
    assert "%http_file TARGET PATH" in (shell.find_line_magic("http_file").__doc__ or "")


def test_http_file_without_a_loop_runs_it(shell: Any) -> None:
    result = shell.run_line_magic("http_file", "client notes.http --env workshop")
    assert isinstance(result, Exchanges) and result.passed
