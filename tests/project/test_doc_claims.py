"""Claims of the user-facing docs (README, docs/faults.md, public docstrings) that needed a fix in the code.

``Response.app_exception``: "the app's error when it was not raised (``raise_app_exceptions=False``)".
"""

from __future__ import annotations

import pytest
from starlette.types import Receive, Scope, Send

from playground import Client

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def crash_mid_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})
    raise Boom("mid body")


async def crash_after_the_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"whole"})
    raise Boom("after the body")


CRASHES = {"mid-body": (crash_mid_body, b"part"), "after-the-body": (crash_after_the_body, b"whole")}


@pytest.mark.parametrize("crash", CRASHES, ids=list(CRASHES))
async def test_a_streamed_response_carries_the_error_it_did_not_raise(crash: str) -> None:
    app, body = CRASHES[crash]
    client = Client(app, raise_app_exceptions=False, lifespan="off", timeout=2)
    read = await client.get("/")
    async with client.stream("GET", "/") as streamed:
        assert await streamed.aread() == body
    # The same crash, read at once or streamed: the status the app sent, its body, its error alongside.
    for response in (read, streamed):
        assert (response.status_code, response.content) == (200, body)
        assert isinstance(response.app_exception, Boom)
        assert response.trace is not None and response.trace.outcome == "raised Boom"


async def test_a_stream_left_early_keeps_no_error_of_its_own() -> None:
    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"tick", "more_body": True})
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    client = Client(endless, raise_app_exceptions=False, lifespan="off", timeout=2, grace=0.5)
    async with client.stream("GET", "/") as response:
        async for chunk in response.aiter_bytes():
            assert chunk == b"tick"
            break
    assert response.app_exception is None
    assert response.trace is not None and response.trace.outcome == "returned"
