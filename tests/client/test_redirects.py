"""Following redirects by httpx's rules: what each hop keeps, drops and recomputes, in-process and live."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from playground import Client, serve

pytestmark = pytest.mark.anyio


async def echo_or_redirect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/go?to=URL&status=N`` redirects there; anything else echoes what the app saw."""
    request = Request(scope, receive)
    if request.url.path == "/go":
        response: Response = RedirectResponse(request.query_params["to"],
                                              status_code=int(request.query_params.get("status", "302")))
        if "cookie" in request.query_params:
            response.set_cookie("session", request.query_params["cookie"])
    else:
        response = JSONResponse({
            "method": request.method,
            "url": str(request.url),
            "headers": [[name.decode(), value.decode()] for name, value in scope["headers"]],
            "body": (await request.body()).decode(),
        })
    await response(scope, receive, send)


def header(seen: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in seen["headers"] if key == name]


async def test_authorization_is_dropped_on_a_redirect_to_another_origin() -> None:
    client = Client(echo_or_redirect, follow_redirects=True)
    response = await client.get("/go", params={"to": "http://elsewhere.test/end"},
                                headers={"Authorization": "Bearer secret"})
    seen = response.json()
    assert seen["url"] == "http://elsewhere.test/end"
    assert header(seen, "authorization") == []
    assert header(seen, "host") == ["elsewhere.test"]  # recomputed for the new origin
    assert response.history[0].request.headers["authorization"] == "Bearer secret"


@pytest.mark.parametrize("target", ["http://testserver:8080/end", "https://elsewhere.test/end"])
async def test_another_port_or_host_is_another_origin(target: str) -> None:
    response = await Client(echo_or_redirect, follow_redirects=True).get(
        "/go", params={"to": target}, headers={"Authorization": "Bearer secret"})
    assert header(response.json(), "authorization") == []


async def test_authorization_is_kept_on_the_same_origin_and_on_an_https_upgrade() -> None:
    client = Client(echo_or_redirect, follow_redirects=True)
    same = await client.get("/go", params={"to": "/end"}, headers={"Authorization": "Bearer secret"})
    assert header(same.json(), "authorization") == ["Bearer secret"]
    upgrade = await client.get("/go", params={"to": "https://testserver/end"},
                               headers={"Authorization": "Bearer secret"})
    assert upgrade.json()["url"] == "https://testserver/end"
    assert header(upgrade.json(), "authorization") == ["Bearer secret"]


async def test_a_chosen_host_header_stays_on_the_same_origin() -> None:
    response = await Client(echo_or_redirect, follow_redirects=True).get(
        "/go", params={"to": "/end"}, headers={"Host": "virtual.test"})
    assert header(response.json(), "host") == ["virtual.test"]


async def test_repeated_headers_stay_separate_fields_on_a_redirect() -> None:
    response = await Client(echo_or_redirect, follow_redirects=True).get(
        "/go", params={"to": "/end"}, headers=[("x-token", "foo"), ("x-token", "bar")])
    assert header(response.json(), "x-token") == ["foo", "bar"]


async def test_cookies_of_the_old_origin_do_not_follow_to_another() -> None:
    client = Client(echo_or_redirect, follow_redirects=True)
    same = await client.get("/go", params={"to": "/end", "cookie": "abc"})
    assert header(same.json(), "cookie") == ["session=abc"]
    other = await client.get("/go", params={"to": "http://elsewhere.test/end"})
    assert header(other.json(), "cookie") == []
    assert client.cookies["session"] == "abc"


@pytest.mark.parametrize(("status", "method", "expected_method", "body_kept"), [
    (301, "POST", "GET", False), (301, "PUT", "PUT", True),
    (302, "POST", "GET", False), (302, "PUT", "GET", False), (302, "HEAD", "HEAD", False),
    (303, "PUT", "GET", False), (303, "HEAD", "HEAD", False),
    (307, "POST", "POST", True), (308, "PATCH", "PATCH", True),
])
async def test_method_and_body_rules(status: int, method: str, expected_method: str, body_kept: bool) -> None:
    client = Client(echo_or_redirect, follow_redirects=True)
    response = await client.request(method, "/go", params={"to": "/end", "status": str(status)},
                                    content=b"payload" if method != "HEAD" else None)
    assert response.request.method == expected_method
    if method == "HEAD":
        return
    seen = response.json()
    assert seen["method"] == expected_method
    assert seen["body"] == ("payload" if body_kept else "")
    assert header(seen, "content-length") == (["7"] if body_kept else [])


async def test_a_fragment_follows_and_a_hostless_location_keeps_the_host() -> None:
    client = Client(echo_or_redirect, follow_redirects=True)
    response = await client.get("http://testserver/go?to=http:/end#top")
    assert str(response.request.url) == "http://testserver/end#top"


async def test_an_invalid_location_is_a_clear_error() -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="Invalid URL in location header"):
        await Client(echo_or_redirect, follow_redirects=True).get("/go", params={"to": "http://[::1/x"})


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # serve() runs uvicorn: asyncio only
async def test_live_mode_drops_authorization_on_a_redirect_to_another_server() -> None:
    async with serve(echo_or_redirect) as first, serve(echo_or_redirect) as second:
        live = Client(first.url, follow_redirects=True, timeout=5)
        try:
            response = await live.get("/go", params={"to": f"{second.url}/end"},
                                      headers=[("Authorization", "Bearer secret"), ("x-token", "foo"),
                                               ("x-token", "bar")])
        finally:
            await live.aclose()
    seen = response.json()
    assert seen["url"] == f"{second.url}/end"
    assert header(seen, "authorization") == []
    assert header(seen, "x-token") == ["foo", "bar"]
    assert header(seen, "host") == [second.url.removeprefix("http://")]
