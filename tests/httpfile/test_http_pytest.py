"""pytest collects .http files when asked (--http-app, --http-base-url): one item per request, in order.

Each run is a subprocess: the real command line and entry point, and no module imported by a run
is dropped from this process afterwards (an in-process run restores ``sys.modules``, and later tests
would then see second copies of modules such as ``websockets``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from sockets import free_port

pytest_plugins = ["pytester"]

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
#: Plugins these runs do not need; without them a run starts several times faster.
UNNEEDED = ("-p", "no:nbval", "-p", "no:hypothesispytest", "-p", "no:anyio", "-p", "no:cacheprovider")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*UNNEEDED, *args)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    for name in ("notes_app.py", "notes.http", "http-client.env.json"):
        shutil.copy(NOTEBOOKS / name, pytester.path / name)
    pytester.syspathinsert()  # for the live server below, which runs in this process
    return pytester


def test_the_plugin_is_registered_by_its_entry_point(pytester: pytest.Pytester) -> None:
    from importlib.metadata import entry_points

    [entry] = [e for e in entry_points(group="pytest11") if e.value.startswith("playground")]
    assert (entry.name, entry.value) == ("playground", "playground.pytest_plugin")
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--http-app=MODULE:APP*", "*--http-base-url=URL*", "*--http-env=NAME*"])


def test_each_request_is_an_item_named_after_it_and_run_in_order(project: pytest.Pytester) -> None:
    result = run(project, "-v", "--http-app=notes_app:app", "--http-env=workshop", "notes.http")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines([
        "notes.http::login PASSED*", "notes.http::create PASSED*", "notes.http::created PASSED*",
        "notes.http::anonymous PASSED*", "notes.http::feed PASSED*",
    ])


def test_inert_without_its_options(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = run(project, "-v")
    result.assert_outcomes(passed=1)
    assert "notes.http" not in result.stdout.str()
    result = run(project, "notes.http")  # even named on the command line: nothing to run it against
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # pytest's own answer for a file no plugin reads
    assert any(line.startswith("ERROR: not found:") for line in result.outlines + result.errlines)


def test_a_failed_assertion_fails_its_item_and_shows_the_exchange(project: pytest.Pytester) -> None:
    text = (project.path / "notes.http").read_text(encoding="utf-8")
    (project.path / "notes.http").write_text(text.replace("?? header location == /notes/1",
                                                          "?? header location == /notes/7"), encoding="utf-8")
    result = run(project, "--http-app=notes_app:app", "--http-env=workshop", "notes.http")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*_ create: POST /notes _*",
        'notes.http, line 25: ?? header location == /notes/7: failed: expected "/notes/7", got "/notes/1"',
        "the exchange:",
        "### create  (line 18)",
        "POST /notes → 201 Created *",
        "location: /notes/1",
        "✓ line 24: ?? status == 201",
        '✗ line 25: ?? header location == /notes/7  — expected "/notes/7", got "/notes/1"',
        "FAILED notes.http::create - notes.http, line 25*",
    ])


def test_an_app_error_fails_the_item_with_its_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(broken_app=(
        "from starlette.responses import PlainTextResponse\n"
        "async def app(scope, receive, send):\n"
        "    if scope['type'] == 'lifespan':\n"
        "        return\n"
        "    if scope['path'] == '/boom':\n"
        "        raise ZeroDivisionError('the app divided by zero')\n"
        "    if scope['path'] == '/500':\n"
        "        await PlainTextResponse('oops', status_code=503)(scope, receive, send)\n"
        "        return\n"
        "    await PlainTextResponse('fine')(scope, receive, send)\n"
    ))
    pytester.makefile(".http", api="GET /fine\n\n?? body == fine\n\n###\nGET /boom\n\n###\nGET /fine\n\n"
                                   "###\nGET /500\n\n###\nGET /500\n\n?? status == 503\n")
    result = run(pytester, "--http-app=broken_app:app", "api.http")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*ZeroDivisionError: the app divided by zero*",
        "the exchange:", "GET /boom → 500 Internal Server Error *", "the app raised ZeroDivisionError*",
        "api.http, line 12: the server answered 503 Service Unavailable; if that is expected, say so with "
        "'?? status == 503'",
        "FAILED api.http::line 6 - the app raised ZeroDivisionError: the app divided*",
        "FAILED api.http::line 12 - *",
    ])


def test_a_reference_to_a_request_that_did_not_run_names_the_line(project: pytest.Pytester) -> None:
    result = run(project, "--http-app=notes_app:app", "--http-env=workshop", "notes.http", "-k", "created")
    result.assert_outcomes(failed=1, deselected=4)
    result.stdout.fnmatch_lines(["notes.http, line 30: 'GET {{create.response.headers.Location}}': request "
                                 "'create' (line 18) has not run*"])


def test_a_mistake_in_the_file_is_a_collection_error_with_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".http", api="GET /a\nnot a header\n")
    pytester.makepyfile(app_module="async def app(scope, receive, send): pass\n")
    result = run(pytester, "--http-app=app_module:app", "api.http")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*api.http, line 2: 'not a header': expected a header*"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--http-app=nowhere_at_all:app"], "*cannot import 'nowhere_at_all'*"),
        (["--http-app=notes_app"], "*--http-app takes MODULE:APP*"),
        (["--http-app=notes_app:nope"], "*'notes_app' has no 'nope'*"),
        (["--http-app=notes_app:app", "--http-base-url=http://127.0.0.1:9"], "*not both*"),
    ],
)
def test_usage_errors(project: pytest.Pytester, options: list[str], message: str) -> None:
    result = run(project, *options, "notes.http")
    assert result.ret != pytest.ExitCode.OK
    assert any(fnmatch(line, message) for line in result.outlines + result.errlines), result.outlines + result.errlines


@pytest.fixture
def live_server(project: pytest.Pytester) -> Iterator[str]:
    """The notes app under uvicorn in a thread of its own, on 127.0.0.1."""
    import notes_app
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(notes_app.make_app(), host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


def test_the_same_file_against_a_live_server(project: pytest.Pytester, live_server: str) -> None:
    result = run(project, "-v", f"--http-base-url={live_server}", "--http-env=workshop", "notes.http")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["notes.http::feed PASSED*"])
