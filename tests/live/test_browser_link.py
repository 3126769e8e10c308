"""``server.link``: the address a learner's browser opens, found from the kernel's Jupyter server.

A fake Jupyter server here is what a real one leaves for its kernels: ``jpserver-<pid>.json`` in the
runtime directory and ``JPY_PARENT_PID`` naming it. The real thing (JupyterLab, JupyterHub) is in
tests/live/test_browser_proxy.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from playground import serve
from playground._live.browser_link import browser_link, jupyter_base_url

pytestmark = pytest.mark.anyio
FAKE_SERVER_PID = 4_000_000  # above any Linux pid_max, so never this process's parent


def jupyter_server(runtime: Path, base_url: str, pid: int = FAKE_SERVER_PID) -> dict[str, str]:
    """The environment a kernel started by a Jupyter server at ``base_url`` has."""
    info = {"base_url": base_url, "pid": pid, "port": 8888, "url": f"http://127.0.0.1:8888{base_url}"}
    (runtime / f"jpserver-{pid}.json").write_text(json.dumps(info))
    return {"JUPYTER_RUNTIME_DIR": str(runtime), "JPY_PARENT_PID": str(FAKE_SERVER_PID),
            "JPY_SESSION_NAME": "/home/ada/07-live-server.ipynb"}


def test_no_jupyter_server_means_the_loopback_link(tmp_path: Path) -> None:
    link = browser_link(5000, "http://127.0.0.1:5000", environ={"JUPYTER_RUNTIME_DIR": str(tmp_path)})
    assert (link.url, link.via) == ("http://127.0.0.1:5000", "loopback")
    assert link.describe() == "loopback: opens in a browser on the machine that runs the kernel"
    assert jupyter_base_url({"JUPYTER_RUNTIME_DIR": str(tmp_path)}) is None


def test_the_kernels_jupyter_server_gives_the_proxied_path(tmp_path: Path) -> None:
    assert importlib.util.find_spec("jupyter_server_proxy") is not None, "the test extra installs it"
    env = jupyter_server(tmp_path, "/user/ada/")
    link = browser_link(5000, "http://127.0.0.1:5000", environ=env)
    assert (link.url, link.via) == ("/user/ada/proxy/5000/", "jupyter-server-proxy")
    assert jupyter_base_url(jupyter_server(tmp_path, "/")) == "/"


def test_another_servers_runtime_file_is_not_this_kernels(tmp_path: Path) -> None:
    env = jupyter_server(tmp_path, "/user/ada/", pid=FAKE_SERVER_PID + 1)
    env.pop("JPY_SESSION_NAME")
    assert browser_link(5000, "http://127.0.0.1:5000", environ=env).via == "loopback"


def test_a_hubs_prefix_counts_only_for_a_notebook_sessions_kernel(tmp_path: Path) -> None:
    hub = {"JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}
    # nbval or a script run from a hub's terminal inherits the prefix, but no Jupyter server started it.
    assert jupyter_base_url(hub) is None
    assert jupyter_base_url({**hub, "JPY_SESSION_NAME": "notebook.ipynb"}) == "/user/ada/"


def test_without_jupyter_server_proxy_the_link_stays_loopback(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jupyter_server_proxy" else real_find_spec(name, *a))
    link = browser_link(5000, "http://127.0.0.1:5000", environ=jupyter_server(tmp_path, "/user/ada/"))
    assert (link.url, link.via) == ("http://127.0.0.1:5000", "loopback")
    assert link.describe().endswith("with jupyter-server-proxy installed, the link would go through this "
                                    "Jupyter server")


def test_public_url_is_the_link_with_its_port_filled_in() -> None:
    link = browser_link(5000, "http://127.0.0.1:5000", "https://ada-{port}.app.github.dev/")
    assert (link.url, link.via) == ("https://ada-5000.app.github.dev/", "public_url")


@pytest.mark.parametrize("bad", ["hub.example.org/proxy/{port}/", "ftp://x/", "proxy/{port}/", ""])
def test_a_public_url_that_is_no_address_is_refused_at_once(bad: str) -> None:
    with pytest.raises(ValueError, match="public_url must be an http"):
        serve(Starlette(), public_url=bad)
    with pytest.raises(TypeError, match="public_url must be a string"):
        serve(Starlette(), public_url=b"http://x/")  # type: ignore[arg-type]


async def page_and_socket(request: Request) -> JSONResponse:
    return JSONResponse({"root_path": request.scope["root_path"], "socket": str(request.url_for("ws").path)})


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.scope["root_path"])
    await websocket.close()


url_app = Starlette(routes=[Route("/", page_and_socket), WebSocketRoute("/ws", ws_endpoint, name="ws")])


async def test_served_behind_a_jupyter_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in jupyter_server(tmp_path, "/user/ada/").items():
        monkeypatch.setenv(name, value)
    async with serve(url_app) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"  # for clients in the kernel, as before
        assert server.link.url == f"/user/ada/proxy/{server.port}/"
        html = server._repr_html_()
        assert f'<a href="/user/ada/proxy/{server.port}/" target="_blank">' in html
        assert "proxied by jupyter-server-proxy" in html and f"in the kernel: <code>{server.url}</code>" in html
        assert repr(server) == (
            f"<Server {server.url} running, serving Starlette; in a browser: /user/ada/proxy/{server.port}/ "
            "(proxied by jupyter-server-proxy, behind this Jupyter server's login)>"
        )
        absolute = f"/user/ada/proxy/absolute/{server.port}"
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
            # proxy/<port>/ strips the prefix: the app sees "/" and writes links relative to its root.
            assert (await http.get("/")).json() == {"root_path": "", "socket": "/ws"}
            # proxy/absolute/<port>/ keeps it: the app gets it as root_path and writes links under it.
            assert (await http.get(absolute + "/")).json() == {"root_path": absolute, "socket": absolute + "/ws"}
            # Only that exact prefix: a path that merely starts with the same letters is the app's own.
            assert (await http.get(absolute + "0/")).status_code == 404
        from websockets.asyncio.client import connect

        async with connect(server.url.replace("http", "ws") + absolute + "/ws") as websocket:
            assert await websocket.recv() == absolute


async def test_served_with_no_jupyter_server_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("JPY_PARENT_PID", "JPY_SESSION_NAME", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    async with serve(url_app) as server:
        assert (server.link.url, server.link.via) == (server.url, "loopback")
        assert "loopback: opens in a browser on the machine that runs the kernel" in server._repr_html_()
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
            assert (await http.get(f"/user/ada/proxy/absolute/{server.port}/")).status_code == 404


def test_importing_the_module_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, playground._live.browser_link; print('jupyter_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}).stdout
    assert out.strip() == "False"
