"""HAR 1.2 archives of responses and WebSocket sessions, in-process and live.

Every archive is checked against ``har-1.2.schema.json`` (written from the HAR 1.2 specification:
every required field, the types, nothing beyond the specification but ``_custom`` fields) with the
``jsonschema`` package, and read back with ``haralyzer``, a HAR-reading library.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
from apps import Echo
from haralyzer import HarParser
from nbclient import NotebookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

import playground
from playground import Client, HTTPEndpoint, save_har, serve, to_har

pytestmark = pytest.mark.anyio

SCHEMA = json.loads((Path(__file__).parent / "har-1.2.schema.json").read_text(encoding="utf-8"))
NOTEBOOK_05 = Path(__file__).resolve().parents[2] / "notebooks" / "05-concurrency.ipynb"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the live archive's serve() is uvicorn, asyncio only


def valid(archive: dict[str, Any]) -> dict[str, Any]:
    """The archive, once the schema and the timing rule of HAR 1.2 hold for it."""
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(archive, SCHEMA, cls=jsonschema.Draft7Validator)
    for entry in archive["log"]["entries"]:
        # "time": the sum of the timings, leaving out those that are -1.
        parts = [value for name, value in entry["timings"].items() if name != "comment" and value != -1]
        assert entry["time"] == pytest.approx(sum(parts), abs=0.002)
        datetime.datetime.fromisoformat(entry["startedDateTime"])
    return archive


class Items(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        response = JSONResponse({"item": request.path_params["name"], "q": request.query_params.get("q")})
        response.set_cookie("session", "s3cret", httponly=True)
        return response

    async def post(self, request: Request) -> Response:
        return PlainTextResponse((await request.body()).decode("latin-1"))


async def closing(websocket: WebSocket) -> None:
    await websocket.close(code=1008)


async def blob(request: Request) -> Response:
    return Response(bytes(range(256)), media_type="application/octet-stream")


app = Starlette(routes=[
    Route("/items/{name}", Items),
    Route("/old", lambda request: RedirectResponse("/items/moved", status_code=307), methods=["POST"]),
    Route("/blob", blob),
    WebSocketRoute("/ws", Echo),
    WebSocketRoute("/closed", closing),
])


async def traffic(client: Client) -> None:
    await client.get("/items/tea?q=hot&empty=", headers={"Authorization": "Bearer token"})
    await client.post("/items/tea", data={"a": "1", "b": "two words"})
    await client.post("/items/raw", content=b"\xff\x00binary")
    await client.get("/blob")
    await client.post("/old", content=b"kept", follow_redirects=True)
    async with client.websocket_connect("/ws") as ws:
        await ws.send_text("hi")
        await ws.receive_text()
        await ws.send_bytes(b"\x01\x02")
        await ws.receive_bytes()


async def test_an_in_process_history_is_a_valid_har_that_a_reader_opens(tmp_path: Path) -> None:
    client = Client(app)
    await traffic(client)
    path = tmp_path / "session.har"
    archive = valid(save_har(path, client.history))
    assert json.loads(path.read_text(encoding="utf-8")) == archive

    entries = archive["log"]["entries"]
    assert archive["log"]["creator"] == {"name": "playground", "version": playground.__version__}
    assert [(e["request"]["method"], e["request"]["url"], e["response"]["status"]) for e in entries] == [
        ("GET", "http://testserver/items/tea?q=hot&empty=", 200),
        ("POST", "http://testserver/items/tea", 200),
        ("POST", "http://testserver/items/raw", 200),
        ("GET", "http://testserver/blob", 200),
        ("POST", "http://testserver/old", 307),
        ("POST", "http://testserver/items/moved", 200),
        ("GET", "ws://testserver/ws", 101),
    ]
    first = entries[0]
    assert first["request"]["queryString"] == [{"name": "q", "value": "hot"}, {"name": "empty", "value": ""}]
    assert json.loads(first["response"]["content"]["text"]) == {"item": "tea", "q": "hot"}
    assert first["response"]["content"]["mimeType"] == "application/json"
    form = entries[1]["request"]["postData"]
    assert form == {"mimeType": "application/x-www-form-urlencoded", "text": "a=1&b=two+words"}
    assert base64.b64decode(entries[2]["request"]["postData"]["text"]) == b"\xff\x00binary"
    content = entries[3]["response"]["content"]
    assert content["encoding"] == "base64" and base64.b64decode(content["text"]) == bytes(range(256))
    assert entries[4]["response"]["redirectURL"] == "/items/moved"

    socket = entries[6]
    assert socket["_resourceType"] == "websocket"
    messages = socket["_webSocketMessages"]
    assert [(m["type"], m["opcode"], m["data"]) for m in messages] == [
        ("send", 1, "hi"), ("receive", 1, "echo: hi"),
        ("send", 2, base64.b64encode(b"\x01\x02").decode()),
        ("receive", 2, base64.b64encode(b"echo: \x01\x02").decode()),
    ]
    started = datetime.datetime.fromisoformat(socket["startedDateTime"]).timestamp()
    assert all(started - 0.002 <= m["time"] < started + 60 for m in messages)
    assert [m["time"] for m in messages] == sorted(m["time"] for m in messages)

    # Read back by a HAR library, which knows none of this code.
    parser = HarParser.from_file(str(path))
    [page] = parser.pages
    read = page.entries
    assert [(e.request.method, e.request.url, e.response.status) for e in read] == [
        (e["request"]["method"], e["request"]["url"], e["response"]["status"]) for e in entries]
    assert read[0].request.queryString == first["request"]["queryString"]
    assert json.loads(read[0].response.text) == {"item": "tea", "q": "hot"}
    assert read[0].startTime is not None and read[0].startTime.tzinfo is not None
    assert parser.creator["name"] == "playground"


async def test_credentials_are_left_out_unless_asked_for() -> None:
    client = Client(app)
    await client.get("/items/tea")  # sets the cookie
    await client.get("/items/tea", headers={"Authorization": "Bearer token"})  # sends it back

    def names(entry: dict[str, Any], part: str) -> set[str]:
        return {header["name"].lower() for header in entry[part]["headers"]}

    sanitized = valid(to_har(client.history))["log"]["entries"]
    for entry in sanitized:
        assert not names(entry, "request") & {"authorization", "cookie"}
        assert "set-cookie" not in names(entry, "response")
        assert entry["request"]["cookies"] == entry["response"]["cookies"] == []
    assert "s3cret" not in json.dumps(sanitized) and "Bearer" not in json.dumps(sanitized)

    full = valid(to_har(*client.history, sanitized=False))["log"]["entries"]
    assert full[0]["response"]["cookies"] == [
        {"name": "session", "value": "s3cret", "path": "/", "httpOnly": True, "secure": False}]
    assert full[1]["request"]["cookies"] == [{"name": "session", "value": "s3cret"}]
    assert {"authorization", "cookie"} <= names(full[1], "request")


async def test_websocket_sessions_that_were_refused_or_never_connected() -> None:
    client = Client(app)
    with pytest.raises(playground.WebSocketDenied):
        async with client.websocket_connect("/closed"):
            pass
    client.websocket_connect("/ws")  # never entered: nothing to archive
    [refused] = valid(to_har(client.history))["log"]["entries"]
    assert refused["response"]["status"] == 403
    assert refused["_webSocketMessages"] == []
    assert "1008" in refused["comment"]


async def test_live_exchanges_are_archived_too() -> None:
    async with serve(app) as server, Client(server.url) as live:
        await traffic(live)
    entries = valid(to_har(live.history))["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [200, 200, 200, 200, 307, 200, 101]
    assert all(e["request"]["url"].startswith(("http://127.0.0.1:", "ws://127.0.0.1:")) for e in entries)
    assert entries[0]["serverIPAddress"] == "127.0.0.1"
    assert [m["data"] for m in entries[-1]["_webSocketMessages"]][:2] == ["hi", "echo: hi"]


def test_bad_input_is_named() -> None:
    with pytest.raises(TypeError, match="responses, WebSocket sessions or a client's history"):
        to_har("GET /")
    assert valid(to_har())["log"]["entries"] == []


def test_notebook_05s_session_saved_as_har_is_valid(tmp_path: Path) -> None:
    """Notebook 05 run top to bottom, then its clients' history saved: the validator and a reader open it."""
    notebook = nbformat.read(NOTEBOOK_05, as_version=4)
    path = tmp_path / "05-concurrency.har"
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import playground\n"
        f"playground.save_har({str(path)!r}, echo.history, chat.history, collector.history, sanitized=False)"
    ))
    shutil.copy(NOTEBOOK_05, tmp_path / NOTEBOOK_05.name)
    NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    archive = valid(json.loads(path.read_text(encoding="utf-8")))
    entries = archive["log"]["entries"]
    sockets = [e for e in entries if e.get("_resourceType") == "websocket"]
    posts = [e for e in entries if e["request"]["method"] == "POST"]
    assert len(sockets) == 50 + 3 and len(posts) == 3  # a client's history keeps its latest 50 exchanges
    assert any(m["data"] == "tea is ready" for e in sockets for m in e["_webSocketMessages"])
    assert len(HarParser.from_file(str(path)).pages[0].entries) == len(entries)
