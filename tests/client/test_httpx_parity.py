"""Differential test: ``Client(app)`` against ``httpx.AsyncClient(transport=httpx.ASGITransport(app))``.

For generated requests (methods, params, headers with repeated names, cookies, every kind of body,
redirect chains that change origin) the app must see the same thing from both clients, hop by hop:
the method, scheme, path, raw path, query string, root path, HTTP version, every header in order, and
the body. Not compared, and listed in the README as deliberate ("Differences from httpx"):
- ``user-agent`` (``playground`` instead of ``python-httpx/…``) and httpx's ``connection: keep-alive``
  (no connection is kept in-process);
- the scope's ``asgi.spec_version``, ``server`` port (an integer, 80, where httpx gives ``None``),
  ``client``, ``extensions`` and ``state``, which httpx's transport leaves out or fills differently;
- a method in lower case, which httpx upper-cases and the client sends as written (only upper-case
  methods are generated here);
- a body given as a generator, which the client reads before sending, so a redirect that keeps the
  method sends it again where httpx raises ``StreamConsumed``.
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import quote, unquote

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from playground import Client

pytestmark = pytest.mark.timeout(300)

CASES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMPARED = ("type", "method", "scheme", "path", "raw_path", "query_string", "root_path", "http_version")
NOT_COMPARED_HEADERS = {b"user-agent", b"connection"}
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
DERIVED = {"host", "content-length", "transfer-encoding", "cookie", "content-type", "user-agent",
           "connection"}
BOUNDARY = "fixed-boundary-for-comparison"


class Recorder:
    """Redirects ``/r/<status>?to=URL`` (setting a cookie when asked); answers anything else with 200.
    Keeps what it saw of every request."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], list[tuple[bytes, bytes]], bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        headers = [pair for pair in scope["headers"] if pair[0] not in NOT_COMPARED_HEADERS]
        self.seen.append(({key: scope[key] for key in COMPARED}, headers, body))
        response: Response
        if scope["path"].startswith("/r/"):
            # /r/<status>/<c to set a cookie, else n>/<the target, percent-encoded>: all in the path, since
            # request params replace a URL's query in httpx 0.28 (and so here).
            _, _, status, cookie, target = scope["raw_path"].decode().split("/", 4)
            response = RedirectResponse(unquote(target), status_code=int(status))
            if cookie == "c":
                response.set_cookie("hop", "c")
        else:
            response = PlainTextResponse("ok")
        await response(scope, receive, send)


methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "QUERY"])
params = st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=4)
header_names = st.text(TOKEN, min_size=1, max_size=10).filter(lambda n: n.lower() not in DERIVED)
header_values = st.text(string.ascii_letters + string.digits + " ;,=/-", max_size=12).map(str.strip)
headers = st.lists(st.tuples(header_names, header_values), max_size=4).flatmap(
    # Some names repeated, as separate fields.
    lambda pairs: st.just(pairs + pairs[:1]) if pairs else st.just(pairs)
)
cookie_jars = st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=5),
                              st.text(string.ascii_letters + string.digits, max_size=5), max_size=2)
text = st.text(max_size=20)
bodies = st.one_of(
    st.just({}),
    st.binary(max_size=40).map(lambda b: {"content": b}),
    text.map(lambda t: {"content": t}),
    st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=5),
                    st.one_of(st.integers(), text, st.booleans(), st.none()), max_size=3).map(lambda j: {"json": j}),
    st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=5), text, max_size=3)
    .map(lambda d: {"data": d}),
    st.tuples(st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=4), text, max_size=2),
              st.binary(max_size=30))
    .map(lambda df: {"data": df[0], "files": {"upload": ("a.bin", df[1], "application/octet-stream")},
                     "headers": {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}}),
    st.lists(st.binary(min_size=1, max_size=10), max_size=3).map(lambda chunks: {"chunks": chunks}),
)
targets = st.sampled_from([
    "/end", "end?x=1", "http://testserver/end", "https://testserver/end", "http://other.test/end",
    "http://testserver:8080/end", "https://other.test:8443/end?q=%20",
])
hops = st.lists(st.tuples(st.sampled_from([301, 302, 303, 307, 308]), targets, st.booleans()), max_size=3)


def redirect_path(chain: list[tuple[int, str, bool]]) -> str:
    """A URL that redirects through ``chain`` (each hop's status, target, whether it sets a cookie)."""
    url = "/done"
    for status, target, sets_cookie in reversed(chain):
        base = target.split("?")[0].removesuffix("end")
        hop = base + url.lstrip("/") if "://" in base else url
        url = f"/r/{status}/{'c' if sets_cookie else 'n'}/{quote(hop, safe='')}"
    return url


def request_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """Fresh arguments for one send: an async generator body can be read only once."""
    arguments = dict(body)
    chunks = arguments.pop("chunks", None)
    if chunks is not None:
        async def stream() -> Any:
            for chunk in chunks:
                yield chunk
        arguments["content"] = stream()
    return arguments


async def run_both(method: str, url: str, body: dict[str, Any], request_params: Any, request_headers: Any,
                   cookies: dict[str, str], follow: bool) -> tuple[Recorder, Recorder, Any, Any]:
    ours, theirs = Recorder(), Recorder()
    extra_headers = list(request_headers) + list(body.get("headers", {}).items())
    body = {k: v for k, v in body.items() if k != "headers"}
    outcome: list[Any] = []
    for app, make in ((ours, lambda app: Client(app, cookies=cookies, follow_redirects=follow)),
                      (theirs, lambda app: httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                                             base_url="http://testserver", cookies=cookies,
                                                             follow_redirects=follow))):
        client = make(app)
        try:
            response = await client.request(method, url, params=request_params or None, headers=extra_headers,
                                            **request_arguments(body))
            outcome.append((response.status_code, str(response.url), len(response.history)))
        except (httpx.HTTPError, httpx.StreamError) as exc:
            outcome.append(type(exc))
        finally:
            await client.aclose()
    return ours, theirs, outcome[0], outcome[1]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@CASES
@given(method=methods, chain=hops, body=bodies, request_params=params, request_headers=headers,
       cookies=cookie_jars, follow=st.booleans(), authorized=st.booleans())
def test_the_app_sees_what_httpx_would_send(
    backend: str, method: str, chain: list[tuple[int, str, bool]], body: dict[str, Any], request_params: Any,
    request_headers: list[tuple[str, str]], cookies: dict[str, str], follow: bool, authorized: bool,
) -> None:
    if method in ("GET", "HEAD", "OPTIONS") and body:
        body = {}  # httpx sends these bodies too, but a redirect may not replay an async generator's
    if authorized:
        request_headers = [*request_headers, ("Authorization", "Bearer secret")]
    url = redirect_path(chain) if chain else "/done"
    ours, theirs, our_outcome, their_outcome = anyio.run(
        run_both, method, url, body, request_params, request_headers, cookies, follow, backend=backend)
    if their_outcome is httpx.StreamConsumed:
        # Deliberate: the client reads a generator's body before sending, so a 301/307/308 hop that keeps
        # the method can send it again, where httpx cannot. Up to that hop the app saw the same.
        assert "chunks" in body and isinstance(our_outcome, tuple)
        assert ours.seen[: len(theirs.seen)] == theirs.seen
        return
    assert our_outcome == their_outcome
    assert ours.seen == theirs.seen
