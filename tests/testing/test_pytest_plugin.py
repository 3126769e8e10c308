"""The pytest plugin's traces report, checked by running pytest on small test files (pytester)."""

from __future__ import annotations

import pytest

from playground import client as client_module

TESTS = '''
import anyio
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from playground import Client
from playground.testing import TestClient


async def users(request):
    return JSONResponse({"name": request.path_params["name"]})


async def slow(request):
    await anyio.Event().wait()


async def chat(websocket):
    await websocket.accept()
    await websocket.send_text("hello " + await websocket.receive_text())
    await websocket.close()


app = Starlette(routes=[Route("/users/{name}", users), Route("/slow", slow), WebSocketRoute("/chat", chat)])


def test_hangs_after_two_exchanges():
    client = TestClient(app, timeout=0.5)
    assert client.get("/users/tom").json() == {"name": "tom"}
    with client.websocket_connect("/chat") as ws:
        ws.send_text("tom")
        assert ws.receive_text() == "hello tom"
    client.get("/slow")


def test_wrong_status():
    client = TestClient(app)
    for name in ["a", "b", "c", "d", "e", "f", "g"]:
        client.get(f"/users/{name}")
    assert client.get("/users/zed").status_code == 201


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_async_client_fails():
    response = await Client(app).get("/users/amy?x=1")
    assert response.json() == {"name": "bob"}


def test_passes_with_a_client():
    assert TestClient(app).get("/users/ann").status_code == 200


def test_fails_without_a_client():
    assert 1 + 1 == 3
'''


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_suite=TESTS)
    return pytester


def sections(result: pytest.RunResult) -> dict[str, list[str]]:
    """Each test's 'playground traces' section, by the test whose failure (or pass) it follows."""
    found: dict[str, list[str]] = {}
    current = None
    lines = result.stdout.lines
    for i, line in enumerate(lines):
        if line.startswith("_") and line.endswith("_") and " test_" in line:
            current = line.strip("_ ")
        elif "playground traces" in line and line.startswith("-"):
            body = []
            for following in lines[i + 1:]:
                if following.startswith(("_", "=", "-")):
                    break
                body.append(following)
            found[current] = body
    return found


def test_a_failing_test_gets_its_clientsʼ_last_exchanges(suite: pytest.Pytester) -> None:
    before = client_module.observer  # this test's own recorder, when the plugin runs here too
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=4)
    found = sections(result)
    assert set(found) == {"test_hangs_after_two_exchanges", "test_wrong_status", "test_async_client_fails"}
    hang = found["test_hangs_after_two_exchanges"]
    assert hang[0] == "<TestClient Starlette at http://testserver>: 3 exchanges, all below"
    summaries = [line for line in hang if line.startswith("  ") and not line.startswith("    ")]
    assert summaries == [
        "  GET /users/tom → 200 OK",
        "  WebSocket ws://testserver/chat — closed by the app: 1000 (normal closure)",
        "  GET /slow → no response: the app was cancelled",
    ]
    text = "\n".join(hang)
    assert "http.response.start  status=200" in text and "websocket.send     text='hello tom'" in text
    assert text.rstrip().endswith("the app was cancelled")
    wrong = found["test_wrong_status"]
    assert wrong[0] == "<TestClient Starlette at http://testserver>: 8 exchanges, the last 5 below"
    assert [line for line in wrong if line.startswith("  GET")][-1] == "  GET /users/zed → 200 OK"
    assert found["test_async_client_fails"][0] == "<Client Starlette at http://testserver>: 1 exchange, all below"
    assert "  GET /users/amy?x=1 → 200 OK" in found["test_async_client_fails"]
    assert client_module.observer is before  # the inner run left the observer as it found it


def test_all_adds_the_section_to_passing_tests_too(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "no:cacheprovider", "--playground-traces=all", "-rP")
    found = sections(result)
    assert "test_passes_with_a_client" in found
    assert found["test_passes_with_a_client"][1] == "  GET /users/ann → 200 OK"
    assert "test_fails_without_a_client" not in found


def test_off_adds_nothing(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "no:cacheprovider", "--playground-traces=off")
    result.assert_outcomes(passed=1, failed=4)
    assert sections(result) == {}
    assert "playground traces" not in result.stdout.str()


def test_a_bad_mode_is_refused(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "no:cacheprovider", "--playground-traces=some")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'some'" in result.stderr.str()


def test_the_plugin_is_registered_by_the_package(pytester: pytest.Pytester) -> None:
    from importlib.metadata import entry_points

    assert [ep.value for ep in entry_points(group="pytest11") if ep.name == "playground"] == [
        "playground.pytest_plugin"
    ]
    result = pytester.runpytest("-p", "no:cacheprovider", "--help")
    assert "--playground-traces={all,failed,off}" in result.stdout.str()
