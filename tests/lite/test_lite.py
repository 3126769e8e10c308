"""The workshop in the browser: `make lite` builds the JupyterLite site, Chromium runs the notebooks there.

The site is built once for the session (about half a minute; it needs PyPI and npm) into a temporary
folder and served by ``python -m http.server`` on 127.0.0.1. Each notebook is opened in JupyterLite's
lab and run cell by cell (its "Run All" stops at the cells that raise on purpose), as nbval would:
no error output except in cells tagged ``raises-exception``, which must raise. Every request the
browser makes is recorded; all of them go to 127.0.0.1 (anything else is also refused, so a stray
request fails the test instead of waiting on the network).

Uses the system's Chromium (Debian's ``/usr/bin/chromium``); without it, or without npm, the tests
skip. Set ``PLAYGROUND_LITE_SHOTS`` to a folder to keep a screenshot of each notebook after its run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from sockets import free_port

ROOT = Path(__file__).resolve().parents[2]
# Every notebook but 07, which needs a real kernel (it serves over sockets) and says so at its top.
NOTEBOOKS = [
    "01-http-endpoints.ipynb", "02-routing.ipynb", "03-websocket-endpoints.ipynb", "04-under-the-hood.ipynb",
    "05-concurrency.ipynb", "06-streaming.ipynb", "08-testing-endpoints.ipynb", "09-exercises.ipynb",
    "09-exercises-solutions.ipynb",
]
KERNEL_START = 120_000  # ms; Pyodide and its wheels load in 10-20 s on two busy cores
CELL_TIMEOUT = 60_000  # ms

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    pytest.mark.skipif(shutil.which("npm") is None, reason="no npm: `make lite` fetches Pyodide with it"),
]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lite") / "site"
    build = subprocess.run(["make", "-s", "lite", f"LITE_OUT={out}"], cwd=ROOT, timeout=600,
                           capture_output=True, text=True)
    assert build.returncode == 0, f"make lite failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    return out


@pytest.fixture(scope="session")
def site_url(site: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                               "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/jupyter-lite.json", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the static server did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


class Recorder:
    """Every URL the browser asked for (pages, workers, the kernel's wheels); refuses all but 127.0.0.1."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def route(self, route: Any) -> None:
        url = route.request.url
        self.urls.append(url)
        if _host(url) == "127.0.0.1":
            route.continue_()
        else:
            route.abort()


@pytest.fixture(scope="module")  # Playwright's sync API keeps a loop running: it must end with this module
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _host(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("blob", "data"):  # made by the page itself: a blob URL names the page's origin
        return urlsplit(parts.path).hostname if parts.scheme == "blob" else "127.0.0.1"
    return parts.hostname


OPEN_NOTEBOOK_DONE = """(path) => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.context && panel.context.path === path && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return Boolean(kernel) && kernel.status === "idle" && panel.content.widgets.length > 0;
}"""

RUN_CELL = """async (index) => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    const notebook = panel.content;
    const cell = notebook.widgets[index];
    if (cell.model.type !== "code") { return null; }
    notebook.activeCellIndex = index;
    await app.commands.execute("notebook:run-cell");
    const kernel = panel.sessionContext.session.kernel;
    while (kernel.status !== "idle" || cell.model.executionCount === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
        tags: cell.model.getMetadata("tags") || [],
        outputs: cell.model.outputs.toJSON(),
        source: cell.model.sharedModel.getSource(),
    };
}"""


def _errors(outputs: list[dict]) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o.get("output_type") == "error"]


def run_notebook(page: Any, site_url: str, name: str) -> list[dict]:
    page.goto(f"{site_url}/lab/index.html?path={name}")
    page.wait_for_function(OPEN_NOTEBOOK_DONE, arg=name, timeout=KERNEL_START)
    count = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    ran = []
    for index in range(count):
        result = page.evaluate(RUN_CELL, index)
        if result is not None:
            ran.append({"index": index, **result})
    return ran


@pytest.mark.timeout(420)  # the first one builds the site too
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlite(name: str, site_url: str, browser: Any) -> None:
    # A context of its own for each notebook, as a learner's fresh browser. (In one shared context, and
    # its service worker, the kernels of later notebooks were seen not to start within two minutes.)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    recorder = Recorder()
    context.route("**/*", recorder.route)
    page = context.new_page()
    page.set_default_timeout(CELL_TIMEOUT)
    try:
        cells = run_notebook(page, site_url, name)
        if shots := os.environ.get("PLAYGROUND_LITE_SHOTS"):
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"{Path(name).stem}.png"))
    finally:
        context.close()

    stored = json.loads((ROOT / "notebooks" / name).read_text())
    assert len(cells) == sum(c["cell_type"] == "code" for c in stored["cells"]), "every code cell ran"
    for cell in cells:
        errors = _errors(cell["outputs"])
        where = f"{name}, cell {cell['index']}:\n{cell['source']}"
        if "raises-exception" in cell["tags"]:
            assert errors, f"expected an error in {where}"
        else:
            assert not errors, f"{errors} in {where}"

    hosts = {_host(url) for url in recorder.urls}
    assert hosts == {"127.0.0.1"}, sorted(url for url in recorder.urls if _host(url) != "127.0.0.1")
    # The kernel's worker is recorded too: the runtime and playground's wheel came from the site.
    assert any(url.endswith("/static/pyodide/pyodide.asm.wasm") for url in recorder.urls)
    assert any("/static/pyodide/playground-" in url for url in recorder.urls)
