"""Random requests through the client: the scope and body the app sees are what was sent.

Methods are HTTP tokens, paths mix percent-encoding and unicode, query strings come as parameters or
raw, header names and values are what httpx accepts, bodies are arbitrary bytes. The reference for
the encoded forms is ``httpx.URL``: what httpx would put on the wire is what the app must see.
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import anyio
import httpx
import pytest
from apps import Recorder
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from playground import Client

pytestmark = pytest.mark.timeout(120)

BACKENDS = ["asyncio", "trio"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
# Header names the client or httpx sets from the request itself: a random value would contradict it.
DERIVED_HEADERS = {"host", "content-length", "transfer-encoding", "cookie"}
VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))
# Characters a query may carry as they are (RFC 3986 pchar plus "/" and "?"), and percent-escapes.
QUERY_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?"

methods = st.text(TOKEN, min_size=1, max_size=12)
segments = st.text(min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
header_names = st.text(TOKEN, min_size=1, max_size=16).filter(lambda n: n.lower() not in DERIVED_HEADERS)
header_values = st.text(VISIBLE + " \t", max_size=24).map(lambda v: v.strip(" \t"))
raw_queries = st.lists(
    st.one_of(st.sampled_from(QUERY_CHARS), st.integers(0, 255).map(lambda b: f"%{b:02X}")), max_size=30
).map("".join)
params = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=5)


async def send_one(url: str, **kwargs: Any) -> tuple[httpx.Response, dict[str, Any], bytes]:
    app = Recorder()
    response = await Client(app).request(url=url, **kwargs)
    assert response.status_code == 200
    assert len(app.seen) == 1
    scope, body = app.seen[0]
    return response, scope, body


def check_common(scope: dict[str, Any]) -> None:
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["server"] == ("testserver", 80)
    names = [name for name, _ in scope["headers"]]
    assert all(isinstance(name, bytes) and name == name.lower() for name in names)
    assert names.count(b"host") == 1


@pytest.mark.parametrize("backend", BACKENDS)
@FUZZ
@given(
    method=methods,
    path=st.lists(segments, max_size=4),
    query=params,
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
    body=st.binary(max_size=2048),
)
def test_the_app_sees_what_was_sent(
    backend: str, method: str, path: list[str], query: list[tuple[str, str]],
    headers: list[tuple[str, str]], body: bytes,
) -> None:
    encoded_path = "/" + "/".join(quote(segment, safe="") for segment in path)

    async def main() -> None:
        response, scope, received = await send_one(
            encoded_path, method=method, params=query, headers=headers, content=body
        )
        check_common(scope)
        assert scope["method"] == method == response.request.method  # sent exactly as given
        assert scope["path"] == "/" + "/".join(path)
        assert scope["raw_path"] == encoded_path.encode("ascii")
        pairs = parse_qsl(scope["query_string"].decode("ascii"), keep_blank_values=True)
        assert sorted(pairs) == sorted(query)
        assert pairs == httpx.QueryParams(query).multi_items()  # httpx groups repeated keys
        sent = [(name.lower().encode(), value.encode()) for name, value in headers]
        sent_names = {name for name, _ in sent}
        assert [pair for pair in scope["headers"] if pair[0] in sent_names] == sent
        assert received == body
        if body:
            assert (b"content-length", str(len(body)).encode()) in scope["headers"]

    anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@FUZZ
@given(path=st.lists(segments.filter(lambda s: "/" not in s), min_size=1, max_size=4), query=raw_queries)
def test_unencoded_paths_and_raw_queries_arrive_as_httpx_encodes_them(
    backend: str, path: list[str], query: str
) -> None:
    """Unicode and reserved characters in the URL as typed: encoded once, decoded back in ``path``.

    (A path typed as ``//host/x`` is a scheme-relative URL to httpx, so "/" stays out of the segments.)
    """
    typed = "/" + "/".join(segment.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
                           for segment in path)
    url = typed + ("?" + query if query else "")
    try:
        reference = httpx.URL("http://testserver" + url)
    except httpx.InvalidURL:
        assume(False)  # not a URL httpx accepts: its own clear error, not ours to test
        return
    assume(reference.path == typed.replace("%25", "%").replace("%3F", "?").replace("%23", "#"))

    async def main() -> None:
        _, scope, _ = await send_one(url, method="GET")
        check_common(scope)
        assert scope["raw_path"] == reference.raw_path.partition(b"?")[0]
        assert scope["path"] == unquote(scope["raw_path"].decode("ascii")) == "/" + "/".join(path)
        assert scope["query_string"] == reference.query
        assert unquote(scope["query_string"].decode("ascii")) == unquote(query)

    anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@FUZZ
@given(method=methods, body=st.binary(max_size=256))
def test_any_token_method_reaches_the_app(backend: str, method: str, body: bytes) -> None:
    async def main() -> None:
        response, scope, received = await send_one("/", method=method, content=body or None)
        assert scope["method"] == method  # methods are case-sensitive tokens: sent as given
        assert received == body
        expected = b"" if method == "HEAD" else b"ok"  # a HEAD response has no body
        assert response.content == expected

    anyio.run(main, backend=backend)
