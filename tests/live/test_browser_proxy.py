"""The chat page where workshops run: behind jupyter-server-proxy, in JupyterLab and on a JupyterHub.

Each test starts the real thing from this environment on 127.0.0.1 (JupyterLab; or JupyterHub with
configurable-http-proxy from npm, a local-process spawner and a dummy authenticator), starts a kernel
through the server's REST and WebSocket API the way a notebook tab does, runs ``serve(chat_app)`` in
it, and opens the link the server's display shows in Debian's Chromium. Everything started is stopped
by the test, and checked to be gone. Screenshots go to $PLAYGROUND_SHOTS when it is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium, open_chat, send
from sockets import free_port

ROOT = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parents[1]  # where chat_app.py is
BIN = Path(sys.executable).parent
SHOTS = os.environ.get("PLAYGROUND_SHOTS")
ALLOW_ROOT = ["--allow-root"] if os.geteuid() == 0 else []
CHP_DIR = ROOT / ".node"  # configurable-http-proxy, installed from npm here, never globally
CHP = CHP_DIR / "node_modules" / ".bin" / "configurable-http-proxy"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.browser,
    pytest.mark.timeout(300),
    needs_chromium,
]

SERVE_CHAT = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from chat_app import app
from playground import serve

server = await serve(app)
server
"""


URL_WRITER = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def where(request):
    return PlainTextResponse(str(request.url_for("where")))

writer = await serve(Starlette(routes=[Route("/where", where, name="where")]))
"""


async def wait_until_answers(url: str, process: subprocess.Popen[bytes], headers: dict[str, str],
                             seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(headers=headers, trust_env=False) as http:
        while True:
            assert process.poll() is None, f"{process.args[0]} exited early with {process.returncode}"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url, timeout=5)).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"{url} did not answer within {seconds:g} s"
            await asyncio.sleep(0.3)


@contextlib.contextmanager
def leaves_nothing_behind(process: subprocess.Popen[bytes]) -> Iterator[list[psutil.Process]]:
    """Stops ``process`` (a session leader) with SIGTERM at the end and checks that it and everything it
    started (kernels, single-user servers, the proxy: the list the test fills in) are gone."""
    started: list[psutil.Process] = []
    try:
        yield started
    finally:
        with contextlib.suppress(psutil.Error):
            started.extend(psutil.Process(process.pid).children(recursive=True))
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise AssertionError(f"{process.args[0]} did not stop on SIGTERM within 60 s") from None
        _, alive = psutil.wait_procs(started, timeout=20)
        for leftover in alive:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        assert not alive, f"left running: {alive}"


class Kernel:
    """A kernel of a Jupyter server, driven over its ``/api/kernels/<id>/channels`` WebSocket."""

    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket
        self.session = uuid.uuid4().hex

    async def run(self, code: str, timeout: float = 60) -> dict[str, str]:
        """Runs ``code``; returns the result's mime bundle (and "stdout"); a kernel error fails the test."""
        msg_id = uuid.uuid4().hex
        await self.websocket.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": self.session, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        result: dict[str, str] = {}
        replied = idle = False
        while not (replied and idle):
            message = json.loads(await asyncio.wait_for(self.websocket.recv(), timeout))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind in ("execute_result", "display_data"):
                result.update(content["data"])
            elif kind == "stream":
                result[content["name"]] = result.get(content["name"], "") + content["text"]
            elif kind == "error":
                raise AssertionError("the kernel raised:\n" + "\n".join(content["traceback"]))
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return result

    async def value(self, expression: str) -> Any:
        return json.loads((await self.run(f"import json; print(json.dumps({expression}))"))["stdout"])


@contextlib.asynccontextmanager
async def notebook_kernel(server: str, headers: dict[str, str]) -> AsyncIterator[Kernel]:
    """A kernel started the way a notebook tab starts one (a session), shut down at the end."""
    from websockets.asyncio.client import connect

    async with httpx.AsyncClient(base_url=server, headers=headers, trust_env=False, timeout=60) as http:
        response = await http.post("api/sessions", json={
            "path": "chat.ipynb", "name": "chat.ipynb", "type": "notebook", "kernel": {"name": "python3"},
        })
        assert response.status_code == 201, response.text
        session = response.json()
        channels = server.replace("http", "ws", 1) + f"api/kernels/{session['kernel']['id']}/channels"
        try:
            async with connect(channels, additional_headers=headers, max_size=None) as websocket:
                yield Kernel(websocket)
        finally:
            assert (await http.delete(f"api/sessions/{session['id']}")).status_code == 204


async def serve_chat(kernel: Kernel) -> tuple[int, str, str]:
    """Runs ``serve(chat_app)`` in the kernel: its port, the link its display shows, the display's text."""
    shown = await kernel.run(SERVE_CHAT)
    port = await kernel.value("server.port")
    match = re.search(r'<a href="([^"]+)" target="_blank">', shown["text/html"])
    assert match, shown
    return port, match.group(1), shown["text/plain"]


async def chat_through(page: Any, url: str, expected_socket: str, words: list[str]) -> None:
    await open_chat(page, url.rstrip("/"))
    assert await page.title() == "Chat"
    assert await page.evaluate("ws.url") == expected_socket
    for word in words:
        await send(page, word)
    items = page.locator("#messages li")
    await items.nth(len(words) - 1).wait_for()
    assert await items.all_text_contents() == [f"Message text was: {word}" for word in words]


async def shoot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


async def socket_refused(page: Any, url: str) -> int:
    """Opens a WebSocket from ``page`` to ``url``; the close code the browser reports (1006: refused)."""
    return int(await page.evaluate("""url => new Promise(resolve => {
        const probe = new WebSocket(url);
        probe.onopen = () => { probe.close(); resolve(0) };
        probe.onclose = event => resolve(event.code);
    })""", url))


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# -- (a) JupyterLab --------------------------------------------------------------------------------------------


async def test_chat_page_through_jupyterlabs_proxy(tmp_path: Path) -> None:
    port, token = free_port(), uuid.uuid4().hex
    lab_url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    lab = subprocess.Popen(
        [str(BIN / "jupyter-lab"), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={tmp_path}", *ALLOW_ROOT],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    with leaves_nothing_behind(lab) as started:
        await wait_until_answers(lab_url + "api/status", lab, {"Authorization": f"token {token}"})
        async with notebook_kernel(lab_url, {"Authorization": f"token {token}"}) as kernel:
            started.extend(psutil.Process(lab.pid).children(recursive=True))  # the kernel
            chat_port, link, text = await serve_chat(kernel)
            assert link == f"/proxy/{chat_port}/"
            assert text == (f"<Server http://127.0.0.1:{chat_port} running, serving Starlette; in a browser: "
                            f"/proxy/{chat_port}/ (proxied by jupyter-server-proxy, behind this Jupyter "
                            "server's login)>")
            async with chromium() as browser:
                learner = await browser.new_page()
                await learner.goto(f"{lab_url}lab?token={token}")  # logs in: the token becomes a cookie
                page_url = urllib.parse.urljoin(lab_url, link)
                await chat_through(learner, page_url, f"ws://127.0.0.1:{port}/proxy/{chat_port}/ws",
                                   ["hello through Jupyter", "and again"])
                await shoot(learner, "jupyterlab-proxy-chat")
                # Without Jupyter's login the proxied page is not served: the browser lands on the login form.
                stranger = await (await browser.new_context()).new_page()
                response = await stranger.goto(page_url)
                assert response is not None and response.status == 200
                assert stranger.url == f"{lab_url}login?next={urllib.parse.quote(link, safe='')}"
                assert await stranger.title() != "Chat"
                assert await socket_refused(stranger, f"ws://127.0.0.1:{port}/proxy/{chat_port}/ws") == 1006
                await shoot(stranger, "jupyterlab-proxy-without-login")
            accepted = await kernel.value('[line for line in server.logs if "WebSocket /ws" in line]')
            assert len(accepted) == 1 and accepted[0].endswith('"WebSocket /ws" [accepted]')
            await kernel.run("await server.stop()")
            assert refused(chat_port)
            # An app that writes its own URLs: right under proxy/absolute/PORT/, which keeps the prefix.
            await kernel.run(URL_WRITER)
            writer_port = await kernel.value("writer.port")
            async with httpx.AsyncClient(base_url=lab_url, headers={"Authorization": f"token {token}"},
                                         trust_env=False) as http:
                absolute = await http.get(f"proxy/absolute/{writer_port}/where")
                stripped = await http.get(f"proxy/{writer_port}/where")
            assert absolute.text == f"{lab_url}proxy/absolute/{writer_port}/where"
            assert stripped.text == f"{lab_url}where"  # the prefix is gone before the app sees the path
            await kernel.run("await writer.stop()")
    assert refused(port)


# -- (b) JupyterHub --------------------------------------------------------------------------------------------


def configurable_http_proxy() -> Path:
    """configurable-http-proxy from npm, in the checkout's .node/ (installed once, on first use)."""
    if CHP.exists():
        return CHP
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("configurable-http-proxy needs node and npm, which are not installed")
    subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(CHP_DIR),
                    "configurable-http-proxy@^5"], check=True, capture_output=True, timeout=240)
    return CHP


HUB_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = {state!r} + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + {state!r} + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = {state!r} + "/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = {{"ada", "bob"}}
# Single-user servers as this same OS user, each with its own home: a local-process spawner for tests.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {state!r} + "/home/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "workshop-test", "api_token": {service_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "workshop-test", "services": ["workshop-test"],
                             "scopes": ["admin:servers", "access:servers", "read:users"]}}]
"""


async def log_in(browser: Any, hub_url: str, name: str, password: str) -> Any:
    page = await (await browser.new_context()).new_page()
    await page.goto(hub_url + "hub/login")
    await page.fill("#username_input", name)
    await page.fill("#password_input", password)
    await page.click("#login_submit")
    await page.wait_for_url(re.compile(rf".*/user/{name}/.*"))
    return page


async def start_server(http: httpx.AsyncClient, name: str) -> None:
    response = await http.post(f"hub/api/users/{name}/server")
    assert response.status_code in (201, 202), response.text
    deadline = time.monotonic() + 150
    while not (await http.get(f"hub/api/users/{name}")).json()["servers"].get("", {}).get("ready"):
        assert time.monotonic() < deadline, f"{name}'s server did not start"
        await asyncio.sleep(0.5)


async def test_two_users_on_a_jupyterhub_each_reach_only_their_own_chat(tmp_path: Path) -> None:
    chp = configurable_http_proxy()
    port, password, service_token = free_port(), uuid.uuid4().hex, uuid.uuid4().hex
    hub_url = f"http://127.0.0.1:{port}/"
    state = tmp_path / "hub"
    (state / "home").mkdir(parents=True)
    (state / "jupyterhub_config.py").write_text(HUB_CONFIG.format(
        port=port, hub_port=free_port(), proxy_api_port=free_port(), chp=str(chp), state=str(state),
        password=password, singleuser=str(BIN / "jupyterhub-singleuser"), args=ALLOW_ROOT,
        service_token=service_token,
    ))
    env = {name: value for name, value in os.environ.items() if not name.startswith(("JUPYTER", "JPY_"))}
    log = (state / "hub.log").open("wb")  # the hub's log, and its servers': read it when this test fails
    hub = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(state / "jupyterhub_config.py")], env=env,
                           cwd=state, stdout=log, stderr=log, start_new_session=True)
    log.close()
    headers = {"Authorization": f"token {service_token}"}
    with leaves_nothing_behind(hub) as started:
        await wait_until_answers(hub_url + "hub/api/", hub, headers)
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=hub_url, headers=headers, trust_env=False, timeout=60))
            chats: dict[str, tuple[Kernel, int]] = {}
            for name in ("ada", "bob"):
                await start_server(http, name)
                kernel = await stack.enter_async_context(notebook_kernel(f"{hub_url}user/{name}/", headers))
                chat_port, link, text = await serve_chat(kernel)
                assert link == f"/user/{name}/proxy/{chat_port}/"
                assert f"in a browser: /user/{name}/proxy/{chat_port}/ (proxied by jupyter-server-proxy" in text
                chats[name] = (kernel, chat_port)
            started.extend(psutil.Process(hub.pid).children(recursive=True))  # proxy, servers, kernels
            browser = await stack.enter_async_context(chromium())
            pages = {name: await log_in(browser, hub_url, name, password) for name in chats}
            for name, (_, chat_port) in chats.items():
                await chat_through(pages[name], f"{hub_url}user/{name}/proxy/{chat_port}/",
                                   f"ws://127.0.0.1:{port}/user/{name}/proxy/{chat_port}/ws", [f"hello, I am {name}"])
                await shoot(pages[name], f"jupyterhub-{name}-chat")
            # Bob, logged in to the hub, asks for Ada's proxied chat page, then opens a socket to it.
            ada_port = chats["ada"][1]
            bob = pages["bob"]
            response = await bob.goto(f"{hub_url}user/ada/proxy/{ada_port}/")
            assert response is not None
            await shoot(bob, "jupyterhub-bob-at-adas-chat")
            # The single-user server sends him to the hub's OAuth step, which refuses: 403, nothing proxied.
            assert response.status == 403, (response.status, bob.url)
            assert bob.url.startswith(f"{hub_url}hub/api/oauth2/authorize?")
            assert await bob.locator("h1").inner_text() == (
                "403 : You do not have permission to access Server at /user/ada/")
            assert await bob.title() != "Chat" and await bob.locator("#messageText").count() == 0
            assert await socket_refused(bob, f"ws://127.0.0.1:{port}/user/ada/proxy/{ada_port}/ws") == 1006
            # What the hub's login does not cover: the servers share this machine's loopback, and
            # jupyter-server-proxy forwards to any local port, so Ada's own proxy path reaches Bob's app.
            bob_port = chats["bob"][1]
            through_ada = await pages["ada"].request.get(f"{hub_url}user/ada/proxy/{bob_port}/")
            assert through_ada.status == 200 and "<h1>WebSocket Chat</h1>" in await through_ada.text()
            for name, (kernel, chat_port) in chats.items():
                accepted = await kernel.value('[line for line in server.logs if "WebSocket /ws" in line]')
                assert len(accepted) == 1, (name, accepted)  # each user's own page, nobody else
                await kernel.run("await server.stop()")
                assert refused(chat_port)
    assert refused(port)
