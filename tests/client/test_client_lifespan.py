"""``async with Client(app)`` runs the app's lifespan: startup, state for every request, shutdown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from apps import Hello
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from playground import Client, LifespanError

pytestmark = pytest.mark.anyio


def app_with_lifespan(log: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        log.append("startup")
        yield {"greeting": "hello", "visits": []}
        log.append("shutdown")

    async def home(request: Request) -> Response:
        request.state.visits.append(request.url.path)
        return JSONResponse({"greeting": request.state.greeting})

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)


async def test_startup_state_and_shutdown() -> None:
    log: list[str] = []
    async with Client(app_with_lifespan(log)) as client:
        assert log == ["startup"]
        assert client.state is not None and client.state["greeting"] == "hello"
        response = await client.get("/")
        assert response.json() == {"greeting": "hello"}
        await client.get("/")
        assert client.state["visits"] == ["/", "/"]  # the shallow copy shares the objects inside
        assert log == ["startup"]
    assert log == ["startup", "shutdown"]
    assert client.state is None


async def test_without_async_with_no_lifespan_runs() -> None:
    log: list[str] = []
    app = app_with_lifespan(log)

    async def bare(request: Request) -> Response:
        return PlainTextResponse("state" if "state" in request.scope else "no state")

    app.add_route("/bare", bare)
    client = Client(app)
    assert (await client.get("/bare")).text == "no state"
    assert client.state is None
    assert log == []


async def test_startup_and_shutdown_can_be_called_directly() -> None:
    log: list[str] = []
    client = Client(app_with_lifespan(log))
    await client.startup()
    assert (await client.get("/")).json() == {"greeting": "hello"}
    await client.aclose()
    assert log == ["startup", "shutdown"]


async def test_startup_failure_raises_lifespan_error_with_the_apps_message() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise ConnectionRefusedError("database at db:5432 is not answering")
        yield

    with pytest.raises(LifespanError, match="database at db:5432 is not answering") as info:
        async with Client(Starlette(lifespan=lifespan)):
            pytest.fail("the block must not run")
    assert "startup" in str(info.value)


async def test_startup_failed_message_from_a_raw_app() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no config file"})

    with pytest.raises(LifespanError, match="no config file"):
        async with Client(app):
            pass


async def test_lifespan_on_with_an_app_without_lifespan() -> None:
    with pytest.raises(LifespanError, match="does not support the lifespan protocol"):
        async with Client(Hello, lifespan="on"):
            pytest.fail("the block must not run")


async def test_lifespan_auto_goes_on_without_it() -> None:
    async with Client(Hello) as client:
        assert client.state is None
        assert (await client.get("/")).text == "hello"


async def test_lifespan_off_skips_it() -> None:
    log: list[str] = []
    async with Client(app_with_lifespan(log), lifespan="off") as client:
        assert log == []
        assert client.state is None
        # The app's lifespan never ran, so its state is missing: Starlette says so.
        with pytest.raises(AttributeError):
            await client.get("/")
    assert log == []


async def test_a_hung_startup_times_out_naming_lifespan_startup() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.sleep(60)
        yield

    started = anyio.current_time()
    with pytest.raises(TimeoutError, match="lifespan startup") as info:
        async with Client(Starlette(lifespan=lifespan), timeout=0.3, grace=0.2):
            pytest.fail("the block must not run")
    assert anyio.current_time() - started < 3
    assert "anyio.sleep(60)" in str(info.value)


async def test_shutdown_failure_is_reported() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.failed", "message": "could not flush"})

    with pytest.raises(LifespanError, match="could not flush"):
        async with Client(app):
            pass
