"""``to_curl()``, ``to_httpie()`` and ``to_http()``: the same request again, from a shell or a ``.http`` file.

The curl and HTTPie commands are run for real, by ``/bin/sh``, against ``serve()`` on 127.0.0.1, and
the app must see what it saw from the in-process ``Client``: method, path, query, headers, body. The
``.http`` text goes through ``httpfile.parse`` and must come back as the same request.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import string
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
import pytest
from apps import Recorder
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from playground import Client, serve
from playground._commands import outgoing, to_curl, to_http, to_httpie
from playground.httpfile import parse

pytestmark = pytest.mark.timeout(300)

CURL = "/usr/bin/curl"
HTTPIE = shutil.which("http", path=str(Path(sys.executable).parent)) or shutil.which("http")
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))
# What the client derives from the request itself, and what curl and HTTPie set from the command line.
DERIVED = {"host", "content-length", "transfer-encoding", "cookie", "expect", "connection", "te", "upgrade"}
#: The round trips this module ran, by tool (printed at the end of the module, for the record).
ROUND_TRIPS: dict[str, int] = {"curl": 0, "httpie": 0}

methods = st.one_of(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY", "HEAD"]),
                    st.text(TOKEN, min_size=1, max_size=10)).filter(lambda m: m.upper() != "CONNECT")
segments = st.text(min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
header_names = st.text(TOKEN, min_size=1, max_size=16).filter(lambda n: n.lower() not in DERIVED)
header_values = st.text(VISIBLE + " \t", max_size=24).map(lambda v: v.strip(" \t"))
params = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=4)
bodies = st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode),
                   st.binary(min_size=1025, max_size=1600))


def comparable(seen: tuple[dict[str, Any], bytes]) -> tuple[Any, ...]:
    """What a request carried: method, path, query, headers (in any order) and body."""
    scope, body = seen
    return scope["method"], scope["raw_path"], scope["query_string"], sorted(scope["headers"]), body


async def run_shell(command: str) -> tuple[int, bytes]:
    process = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
             "NO_PROXY": "*", "LANG": "C.UTF-8"},
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, output


class LiveRecorder(NamedTuple):
    app: Recorder
    url: str


@pytest.fixture(scope="module")
def live() -> Iterator[LiveRecorder]:
    """One ``serve()`` for the module, on a loop of its own in a thread: each example's in-process
    request runs on the test's loop meanwhile, against the same recording app."""
    app = Recorder()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="serve-for-commands")
    thread.start()
    server = None
    try:
        server = asyncio.run_coroutine_threadsafe(_start(app), loop).result(timeout=20)
        yield LiveRecorder(app, server.url)
    finally:
        if server is not None:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=20)
        loop.close()


async def _start(app: Recorder) -> Any:
    return await serve(app, lifespan="off")


async def round_trip(live: LiveRecorder, tool: str, method: str, path: str, query: list[tuple[str, str]],
                     headers: list[tuple[str, str]], body: bytes, with_body: bool) -> None:
    live.app.seen.clear()
    client = Client(live.app, base_url=live.url)
    content = body if with_body else None
    response = await client.request(method, path, params=query, headers=headers, content=content)
    command = response.to_curl() if tool == "curl" else response.to_httpie()
    code, output = await run_shell(command)
    assert code == 0, (command, output)
    ROUND_TRIPS[tool] += 1
    assert len(live.app.seen) == 2, (command, output)
    in_process, from_shell = live.app.seen
    scope, sent = in_process
    sized = any(name == b"content-length" for name, _ in scope["headers"])
    if tool == "httpie" and method not in ("GET", "HEAD", "OPTIONS") and not sized:
        in_process = ({**scope, "headers": [*scope["headers"], (b"content-length", b"0")]}, sent)  # see to_httpie
    assert comparable(from_shell) == comparable(in_process), command


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.skipif(not os.access(CURL, os.X_OK), reason=f"no curl at {CURL}")
@FUZZ
@given(method=methods, path=st.lists(segments, max_size=3), query=params,
       headers=st.lists(st.tuples(header_names, header_values), max_size=5), body=bodies,
       with_body=st.booleans())
# A body that starts with "-" once went out empty: printf read its format as an option.
@example(method="GET", path=[], query=[], headers=[], body=b"-\x00", with_body=True)
def test_curl_sends_what_the_client_sent(live: LiveRecorder, method: str, path: list[str],
                                         query: list[tuple[str, str]], headers: list[tuple[str, str]],
                                         body: bytes, with_body: bool) -> None:
    assume(not (method == "HEAD" and with_body))  # refused, tested below
    encoded = "/" + "/".join(quote(segment, safe="") for segment in path)
    asyncio.run(round_trip(live, "curl", method, encoded, query, headers, body, with_body))


@pytest.mark.skipif(HTTPIE is None, reason="HTTPie's `http` is not installed")
# HTTPie takes a good part of a second to start: fewer examples, and no shrinking of a failure.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(method=methods, path=st.lists(segments, max_size=3), query=params,
       headers=st.lists(st.tuples(header_names, header_values), max_size=4), body=bodies,
       with_body=st.booleans())
def test_httpie_sends_what_the_client_sent(live: LiveRecorder, method: str, path: list[str],
                                           query: list[tuple[str, str]], headers: list[tuple[str, str]],
                                           body: bytes, with_body: bool) -> None:
    assume(method != "HEAD" and method.isalpha() and method.isupper())  # HTTPie's methods: refused below
    assume(not any(re.search(r"\\[:;@=]", value) for _, value in headers))  # refused below
    encoded = "/" + "/".join(quote(segment, safe="") for segment in path)
    asyncio.run(round_trip(live, "httpie", method, encoded, query, headers, body, with_body))


def test_round_trip_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the fuzzing above (same module, in order): every example really ran its command."""
    if not ROUND_TRIPS["curl"]:
        pytest.skip("counts the round trips of the fuzz tests above; run the whole module")
    assert ROUND_TRIPS["curl"] >= 100, ROUND_TRIPS
    with capsys.disabled():
        print(f"\ncommand round trips against serve(): {ROUND_TRIPS}")


# -- the commands as text ----------------------------------------------------------------------------


def built(method: str, url: str, **kwargs: Any) -> httpx.Request:
    return Client(lambda *a: None).build_request(method, url, **kwargs)


def test_curl_command_is_quoted_for_a_posix_shell() -> None:
    request = built("POST", "/it's?q=a b", headers={"X-Quote": "it's $HOME `x`"}, content=b"@not-a-file")
    command = to_curl(request, base_url="http://127.0.0.1:8000")
    assert command.startswith("curl ")
    assert "'X-Quote: it'\"'\"'s $HOME `x`'" in command
    assert "--data-raw @not-a-file" in command
    assert command.endswith(" 'http://127.0.0.1:8000/it'\"'\"'s?q=a%20b'")
    assert "testserver" not in command  # the Host header follows the new URL


def test_base_url_replaces_the_origin_and_prefixes_its_path() -> None:
    request = built("GET", "/users/tom?x=1")
    assert outgoing(request, "https://example.test:8443/api/").url == "https://example.test:8443/api/users/tom?x=1"
    assert outgoing(request).url == "http://testserver/users/tom?x=1"
    with pytest.raises(ValueError, match="base_url must be an http"):
        outgoing(request, "ftp://example.test")


def test_a_binary_body_is_piped_from_printf() -> None:
    request = built("PUT", "/blob", content=b"\x00\xff%\\'")
    command = to_curl(request)
    assert command.startswith("printf '\\000\\377%%\\\\'\"'\"'' | curl -X PUT ")
    assert "--data-binary @-" in command


def test_head_with_a_body_is_refused_and_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="HEAD"):
        to_curl(built("HEAD", "/", content=b"x"))
    with pytest.raises(ValueError, match="letters"):
        to_httpie(built("M-1", "/"))
    with pytest.raises(ValueError, match="upper-case"):
        to_httpie(built("get", "/"))
    with pytest.raises(ValueError, match="backslash"):
        to_httpie(built("GET", "/", headers={"X-A": "a\\=b"}))
    with pytest.raises(TypeError, match=r"a response or an httpx\.Request"):
        to_curl("GET /")


def test_httpie_header_items_that_look_like_other_items() -> None:
    command = to_httpie(built("GET", "/", headers={"X-Json": "=1", "X-File": "@f", "X-Empty": "", "-X": "1"}))
    assert "'X-Json:\\=1' 'X-File:\\@f' 'X-Empty;' -X:1" in command
    assert " -- GET " in command


# -- .http text --------------------------------------------------------------------------------------

http_bodies = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e"
                                    "\x85\u2028\u2029\x00"), max_size=80)


def cannot_carry(url: str, headers: list[tuple[str, str]], body: str) -> bool:
    """What the .http format has no way to write: a variable's braces, or a line it reads as another
    request, an assertion, a script, a file, a comment or the end of the body."""
    lines = body.split("\n")
    special = ("###", "??", "<", ">", "#", "//")
    return ("{{" in body or "{{" in url or (body and not lines[-1].strip())
            or (len(lines) > 1 and not lines[0].strip())
            or any(line.lstrip().startswith(special) for line in lines)
            or any("{{" in v or n.startswith(special) for n, v in headers))


@settings(max_examples=200, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY", "REPORT"]),
       path=st.lists(segments, max_size=3), query=params,
       headers=st.lists(st.tuples(header_names, header_values), max_size=5), body=http_bodies)
def test_http_text_reads_back_as_the_same_request(method: str, path: list[str], query: list[tuple[str, str]],
                                                  headers: list[tuple[str, str]], body: str) -> None:
    encoded = "/" + "/".join(quote(segment, safe="") for segment in path)
    request = built(method, encoded, params=query, headers=headers, content=body.encode() if body else None)
    try:
        text = to_http(request)
    except ValueError as refused:
        # Refused only for what the format cannot carry, and said so.
        assert "cannot be written as .http text" in str(refused)
        assert cannot_carry(str(request.url), headers, body), refused
        return
    [spec] = parse(text)
    again = httpx.Request(spec.method, spec.url, headers=spec.headers,
                          content=spec.body.encode() if spec.body is not None else None)
    assert outgoing(again) == outgoing(request)
    assert spec.http_version == "HTTP/1.1"


def test_http_text_of_a_response() -> None:
    async def main() -> str:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        response = await Client(app).post("/users", json={"name": "tom"})
        return response.to_http(base_url="http://127.0.0.1:8000")

    text = asyncio.run(main())
    assert text == (
        "POST http://127.0.0.1:8000/users HTTP/1.1\n"
        "accept: */*\naccept-encoding: gzip, deflate\nuser-agent: playground\nContent-Type: application/json\n"
        '\n{"name":"tom"}\n'
    )


@pytest.mark.parametrize(("body", "reason"), [
    (b"\xff\xfe", "not UTF-8"),
    (b"line\n", "ends with a blank line"),
    (b"{{secret}}", "variable"),
    (b"< ./file.json", "would be read as a file"),
    (b"a\n### b", "the body line '### b'"),
    (b"a\r\nb", "line break other than"),
])
def test_http_text_refuses_what_it_cannot_carry(body: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_http(built("POST", "/", content=body))
    with pytest.raises(ValueError, match="the method 'get'"):
        to_http(built("get", "/"))
