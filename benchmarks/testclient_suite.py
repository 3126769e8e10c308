"""A real-world-shaped test suite, run with Starlette's TestClient and with playground's drop-in.

    python benchmarks/testclient_suite.py            # 7 rounds
    python benchmarks/testclient_suite.py --quick    # 3 rounds, a smoke run

The suite is what an application's tests look like: a Starlette app with a lifespan (a "database"
in app state), JSON CRUD endpoints, a form post, a cookie login with a redirect, a 404, and a
WebSocket chat. Its tests, each a plain function taking the client class:

- 60 endpoint tests on a module-level client, outside ``with`` (no lifespan), one to three requests each;
- 20 tests that open ``with TestClient(app) as client:`` (lifespan startup and shutdown) and make
  three requests;
- 20 WebSocket tests: connect, three messages each way, leave the block.

Each round runs the whole suite once with each client, in alternating order, so a busy machine
slows both alike. Printed: each client's median suite time over the rounds, the median of the
per-round ratios (Starlette's time / the drop-in's time; above 1 means the drop-in is faster), and
that ratio for each part. Outside ``with``, both clients start an event loop in a new thread for
every call, which bounds the endpoint part's ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from playground.testing import TestClient as DropIn

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's client warns when it finds httpx instead of httpx2
    from starlette.testclient import TestClient as Starlettes

# -- the app ----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> Any:
    yield {"db": {"1": {"id": "1", "name": "tom"}}}


async def list_users(request: Request) -> JSONResponse:
    return JSONResponse(sorted(request.state.db.values(), key=lambda u: u["id"]) if hasattr(request.state, "db")
                        else [])


async def get_user(request: Request) -> Response:
    db = getattr(request.state, "db", {"1": {"id": "1", "name": "tom"}})
    user = db.get(request.path_params["id"])
    return JSONResponse(user) if user else PlainTextResponse("not found", status_code=404)


async def create_user(request: Request) -> JSONResponse:
    data = await request.json()
    return JSONResponse({"id": "2", **data}, status_code=201)


async def search(request: Request) -> JSONResponse:
    form = await request.form()
    return JSONResponse({"q": form.get("q"), "page": int(request.query_params.get("page", "1"))})


async def login(request: Request) -> RedirectResponse:
    response = RedirectResponse("/me", status_code=303)
    response.set_cookie("session", "s-123")
    return response


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.cookies.get("session"), "agent": request.headers["user-agent"]})


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_json({"echo": text, "n": len(text)})
    except WebSocketDisconnect:
        pass


app = Starlette(
    routes=[
        Route("/users", list_users), Route("/users", create_user, methods=["POST"]),
        Route("/users/{id}", get_user), Route("/search", search, methods=["POST"]),
        Route("/login", login, methods=["POST"]), Route("/me", me), WebSocketRoute("/chat", chat),
    ],
    lifespan=lifespan,
)

# -- the tests ----------------------------------------------------------------------------------------


def endpoint_tests(client: Any) -> None:
    for n in range(10):
        assert client.get("/users/1").json() == {"id": "1", "name": "tom"}
        assert client.get(f"/users/9{n}").status_code == 404
        response = client.post("/users", json={"name": f"ann{n}"})
        assert response.status_code == 201 and response.json()["name"] == f"ann{n}"
        assert client.post("/search?page=2", data={"q": "x"}).json() == {"q": "x", "page": 2}
        response = client.post("/login")
        assert response.json()["session"] == "s-123" and response.history[0].status_code == 303
        assert client.get("/nowhere").status_code == 404


def lifespan_test(make: Callable[..., Any]) -> None:
    with make(app) as client:
        assert client.get("/users").json() == [{"id": "1", "name": "tom"}]
        assert client.get("/users/1").status_code == 200
        assert client.get("/me", headers={"user-agent": "suite"}).json()["agent"] == "suite"


def websocket_test(client: Any) -> None:
    with client.websocket_connect("/chat") as ws:
        for text in ("hi", "there", "again"):
            ws.send_text(text)
            assert ws.receive_json() == {"echo": text, "n": len(text)}


PARTS = ("endpoint", "lifespan", "websocket")


def run_suite(make: Callable[..., Any]) -> dict[str, float]:
    """Seconds for each part of the suite."""
    times = {}
    start = time.perf_counter()
    module_client = make(app)
    endpoint_tests(module_client)  # 60 tests' worth of requests: 6 kinds, 10 each
    times["endpoint"] = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(20):
        lifespan_test(make)
    times["lifespan"] = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(20):
        websocket_test(module_client)
    times["websocket"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    rounds = 3 if parser.parse_args().quick else 7
    run_suite(DropIn), run_suite(Starlettes)  # warm up: imports, caches
    times: dict[str, list[float]] = {"starlette": [], "drop-in": []}
    ratios: dict[str, list[float]] = {part: [] for part in ("suite", *PARTS)}
    for round_number in range(rounds):
        order = [("starlette", Starlettes), ("drop-in", DropIn)]
        if round_number % 2:
            order.reverse()
        this_round = {name: run_suite(make) for name, make in order}
        for name, parts in this_round.items():
            times[name].append(sum(parts.values()))
        ratios["suite"].append(sum(this_round["starlette"].values()) / sum(this_round["drop-in"].values()))
        for part in PARTS:
            ratios[part].append(this_round["starlette"][part] / this_round["drop-in"][part])
    print(f"A suite of 100 tests (60 endpoint, 20 lifespan, 20 WebSocket), {rounds} rounds, Python "
          f"{sys.version.split()[0]}:")
    for name, label in (("starlette", "starlette.testclient.TestClient"), ("drop-in", "playground.testing.TestClient")):
        print(f"  {label:<34} {statistics.median(times[name]) * 1000:8.0f} ms per suite (median)")
    suite = ratios["suite"]
    print(f"  ratio (Starlette's time / the drop-in's): {statistics.median(suite):.2f}x "
          f"(rounds from {min(suite):.2f}x to {max(suite):.2f}x)")
    print("  by part: " + ", ".join(f"{part} {statistics.median(ratios[part]):.2f}x" for part in PARTS))


if __name__ == "__main__":
    main()
