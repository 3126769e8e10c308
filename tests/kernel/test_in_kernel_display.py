"""In a real ipykernel, what a cell returns is displayed as text/html and text/plain: a response, a
WebSocket session, a trace, an endpoint class (through the formatters ``import playground`` registers),
and the result of the ``%%http`` magic, run by the kernel's own loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).parents[2]

CELLS = [
    """
from starlette.responses import JSONResponse
from playground import Client, HTTPEndpoint, WebSocketEndpoint

class Hello(HTTPEndpoint):
    async def get(self, request):
        return JSONResponse({"hello": "<b>world</b>"})

class Echo(WebSocketEndpoint):
    encoding = "text"
    async def on_receive(self, websocket, data):
        await websocket.send_text(data)

client = Client(Hello)
""",
    "response = await client.get('/hi')\nresponse",
    """
async with Client(Echo).websocket_connect('/ws') as session:
    await session.send_text('ping')
    await session.receive_text()
session
""",
    "response.trace",
    "Hello",
    "%load_ext playground",
    "%%http client\nGET /magic\n",
    "_.request.url.path",
]


def run_notebook() -> list[Any]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source.strip()) for source in CELLS]
    client = nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO)}})
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def result_of(outputs: list[Any]) -> dict[str, str]:
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].evalue if errors else ""
    streams = [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not streams, streams[0].text
    [result] = [o for o in outputs if o.output_type == "execute_result"]
    return dict(result.data)


@pytest.mark.timeout(120)
def test_the_kernel_displays_every_playground_object() -> None:
    outputs = run_notebook()
    response = result_of(outputs[1])
    assert response["text/plain"].startswith("GET /hi → 200 OK")
    assert 'class="pg-display pg-response' in response["text/html"]
    assert "&lt;b&gt;world&lt;/b&gt;" in response["text/html"]

    session = result_of(outputs[2])
    assert session["text/plain"].startswith("WebSocket ws://testserver/ws — closed by the client")
    assert "pg-session" in session["text/html"] and "&#x27;ping&#x27;" in session["text/html"]

    trace = result_of(outputs[3])
    assert trace["text/plain"].startswith("ASGI trace of http GET /hi")
    assert "data:image/svg+xml;base64," in trace["text/html"]

    endpoint = result_of(outputs[4])
    assert endpoint["text/plain"].startswith("HTTPEndpoint Hello")
    assert "allows: GET, HEAD" in endpoint["text/plain"]
    assert "pg-endpoint" in endpoint["text/html"]

    magic = result_of(outputs[6])
    assert magic["text/plain"].startswith("GET /magic → 200 OK")
    assert "pg-response" in magic["text/html"]
    assert result_of(outputs[7])["text/plain"] == "'/magic'"
