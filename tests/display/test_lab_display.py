"""The stored displays in the real JupyterLab, untrusted, as a learner sees a freshly cloned notebook.

JupyterLab runs on a temporary copy of notebook 04 with its own settings (dark theme), data and runtime
directories, so nothing outside the copy is touched; Chromium is Debian's ``/usr/bin/chromium``, never a
downloaded one, and without it the test skips. The checks read the DOM: what the sanitiser kept, whether
the diagram image decoded, whether text stands out from the dark background.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from sockets import free_port

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04-under-the-hood.ipynb"
#: Its history's waterfall.
NOTEBOOK_05 = NOTEBOOK.with_name("05-concurrency.ipynb")
#: Where to save screenshots of what the tests saw, for a person to look at: only when asked for
#: (``PLAYGROUND_SHOTS=/some/dir``, outside the repository), so a test run leaves no files behind.
SHOTS = Path(os.environ["PLAYGROUND_SHOTS"]) if os.environ.get("PLAYGROUND_SHOTS") else None


def screenshot(locator: Any, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(SHOTS / name))
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
#: JupyterLab user settings: the dark theme, no news pop-up, and every cell rendered (no windowing).
SETTINGS = {
    "@jupyterlab/apputils-extension/themes": {"theme": "JupyterLab Dark"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(90),
    needs_chromium,
]


class Lab(NamedTuple):
    url: str
    token: str
    root: Path


def _api(lab: Lab, path: str, method: str = "GET") -> Any:
    request = urllib.request.Request(f"{lab.url}{path}", method=method,
                                     headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


def _wait_until_ready(lab: Lab, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            _api(lab, "/api/status")
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not answer within {START_TIMEOUT:g} s:\n{log.read_text()[-3000:]}")


def _stop(lab: Lab, process: subprocess.Popen[bytes]) -> None:
    """Shut the kernels down, then the server's whole process group; SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            for kernel in _api(lab, "/api/kernels"):
                _api(lab, f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass  # the server is going anyway; the kernels exit when their parent does
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """JupyterLab on copies of notebooks 04 and 05; dark unless the test asks for another theme."""
    theme = getattr(request, "param", "JupyterLab Dark")
    root = Path(tempfile.mkdtemp(prefix="playground-lab-"))
    process = None
    try:
        notebooks = root / "notebooks"
        notebooks.mkdir()
        for notebook in (NOTEBOOK, NOTEBOOK_05):
            shutil.copy(notebook, notebooks / notebook.name)
        settings = root / "settings"
        themed = {**SETTINGS, "@jupyterlab/apputils-extension/themes": {"theme": theme}}
        for plugin, values in themed.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(root / "config"),
            "JUPYTER_DATA_DIR": str(root / "data"),  # the notebook signature database too
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
            "IPYTHONDIR": str(root / "ipython"),
        }
        port, token = free_port(), secrets.token_hex(16)
        server = Lab(f"http://127.0.0.1:{port}", token, notebooks)
        log = root / "lab.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                 f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
                 f"--notebook-dir={notebooks}"],
                env=env, cwd=root, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait_until_ready(server, process, log)
        yield server
    finally:
        if process is not None:
            _stop(server, process)
        shutil.rmtree(root)


def styles_in(page: Any) -> set[str]:
    """Every inline ``style`` attribute of the playground displays in the open notebook, as rendered."""
    shown = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front, not one open behind it
    return set(page.evaluate(
        f"[...document.querySelectorAll('{shown} .pg-display, {shown} .pg-display *')]"
        ".map((e) => e.getAttribute('style')).filter(Boolean)"))


def stored_styles(notebook: Path) -> set[str]:
    """Every inline ``style`` attribute of the playground displays stored in a notebook."""
    styles: set[str] = set()

    class Styles(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            styles.update(value for name, value in attrs if name == "style" and value)

    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            html = "".join(output.get("data", {}).get("text/html", []))
            if "pg-display" in html:
                Styles().feed(html.partition("<style>")[0])
    return styles


#: Relative luminance contrast (WCAG) of an element's text against what is really behind it: the
#: background colours of it and its ancestors, translucent ones composited, down to the first opaque one.
CONTRAST_JS = """
(element) => {
  const parse = (text) => {
    const [r, g, b, a] = text.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a === undefined ? 1 : a];
  };
  const layers = [];
  for (let node = element; node; node = node.parentElement) {
    const colour = parse(getComputedStyle(node).backgroundColor);
    if (colour[3] > 0) layers.push(colour);
    if (colour[3] >= 1) break;
  }
  let back = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) back = [r, g, b].map((v, i) => back[i] * (1 - a) + v * a);
  const [r, g, b, a] = parse(getComputedStyle(element).color);
  const fore = [r, g, b].map((v, i) => back[i] * (1 - a) + v * a);
  const luminance = (rgb) => {
    const [R, G, B] = rgb.map((v) => v / 255).map((c) => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const [light, dark] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
  return {contrast: (light + 0.05) / (dark + 0.05), fore, back};
}
"""


def test_stored_trace_display_reads_well_untrusted_in_the_dark_theme(lab: Lab) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}")
            trace = page.locator(".jp-NotebookPanel .jp-OutputArea-output .pg-trace").first
            trace.wait_for(state="visible")

            assert page.evaluate("document.body.dataset.jpThemeLight") == "false"
            # Untrusted: the sanitiser has removed the <style> blocks, and no CSS shows as text.
            outputs = page.locator(".jp-NotebookPanel .jp-OutputArea-output:has(.pg-display)")
            assert outputs.count() >= 5
            assert page.locator(".jp-OutputArea-output style").count() == 0
            shown = "\n".join(outputs.all_inner_texts())
            assert not any(css in shown for css in (".pg-display", "var(--jp", "font-family:", "</style>"))

            # The first trace is POST /greet: its table lists the messages, in order.
            cells = trace.locator("table td").all_inner_texts()
            types = [text for text in cells if re.fullmatch(r"http\.[a-z.]+", text)]
            assert types == ["http.request", "http.response.start", "http.response.body"]

            # The sequence diagram is a data: SVG image that decoded.
            image = trace.locator("img").first
            assert (image.get_attribute("src") or "").startswith("data:image/svg+xml;base64,")
            image.evaluate("(img) => img.decode()")
            assert image.evaluate("(img) => img.naturalWidth") > 0
            assert image.bounding_box()["height"] > 50  # type: ignore[index]

            # Every inline style the displays were stored with survived the sanitiser unchanged.
            in_dom = set(page.evaluate(
                "[...document.querySelectorAll('.jp-NotebookPanel .pg-display, .jp-NotebookPanel .pg-display *')]"
                ".map((e) => e.getAttribute('style')).filter(Boolean)"))
            assert stored_styles(lab.root / NOTEBOOK.name) - in_dom == set()

            # Text stands out from the dark background: the theme's own colour and the direction colours.
            heading = trace.locator("div").first.evaluate(CONTRAST_JS)
            assert heading["contrast"] >= 7, heading
            for direction in ("client → app", "client ← app"):
                cell = trace.locator("td", has_text=direction).first.evaluate(CONTRAST_JS)
                assert cell["contrast"] >= 4, (direction, cell)

            # The scope starts folded and opens on a click.
            scope = trace.locator("details", has=page.locator("summary", has_text="scope")).first
            assert not scope.evaluate("(details) => details.open")
            scope.locator("summary").click()
            assert scope.evaluate("(details) => details.open")
            assert scope.locator("th", has_text="raw_path").is_visible()
        finally:
            browser.close()


@pytest.mark.parametrize("lab", ["JupyterLab Light", "JupyterLab Dark"], indirect=True)
def test_the_waterfall_and_the_mermaid_diagram_in_jupyterlab(lab: Lab) -> None:
    """Untrusted: notebook 05's history waterfall, and notebook 04's Mermaid diagram drawn.

    Stored notebooks keep no timings (sanitize.cfg evens the bars out), so notebook 05 is run here
    first and saved unsigned, real bars and all: JupyterLab sanitises it like a cloned one.
    """
    import nbformat
    from nbclient import NotebookClient
    from playwright.sync_api import sync_playwright

    this_run = lab.root / "05-this-run.ipynb"
    notebook = nbformat.read(NOTEBOOK_05, as_version=4)
    NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(lab.root)}}
                   ).execute()
    nbformat.write(notebook, this_run)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.set_default_timeout(20_000)

            page.goto(f"{lab.url}/lab/tree/{this_run.name}?token={lab.token}")
            waterfall = page.locator(".jp-NotebookPanel .jp-OutputArea-output .pg-waterfall").first
            waterfall.wait_for(state="visible")
            theme = "light" if page.evaluate("document.body.dataset.jpThemeLight") == "true" else "dark"
            assert page.locator(".jp-OutputArea-output style").count() == 0  # untrusted: sanitised

            # Three sessions, each a span with its place and length kept by the sanitiser.
            rows = waterfall.locator("tbody tr")
            assert rows.count() == 3
            assert "3 exchanges" in waterfall.inner_text()
            boxes = [rows.nth(i).locator("td").last.locator("div").first.bounding_box() for i in range(3)]
            track = rows.first.locator("td").last.bounding_box()
            assert track is not None and all(box is not None for box in boxes), boxes
            for box in boxes:
                assert box is not None and box["width"] >= 2 and box["height"] >= 10, box
                assert track["x"] - 1 <= box["x"] and box["x"] + box["width"] <= track["x"] + track["width"] + 1
            # Ada's span has two ticks (she spoke, and heard herself), inside the span.
            ada = boxes[0]
            assert ada is not None
            ticks = rows.first.locator("div[style*='margin-right:-2px']")
            assert ticks.count() == 2
            for index in range(2):
                tick = ticks.nth(index).bounding_box()
                assert tick is not None and ada["x"] - 1 <= tick["x"] <= ada["x"] + ada["width"] + 1, (tick, ada)
            assert stored_styles(this_run) - styles_in(page) == set()
            heading = waterfall.locator("div").first.evaluate(CONTRAST_JS)
            assert heading["contrast"] >= 7, heading
            for label in ("client sent", "app sent"):
                legend = waterfall.locator("span", has_text=label).first.evaluate(CONTRAST_JS)
                assert legend["contrast"] >= 3.5, (label, legend)
            screenshot(waterfall, f"waterfall-{theme}.png")

            # The stored notebook, its bars evened out by sanitize.cfg: still valid, still kept.
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK_05.name}?reset&token={lab.token}")  # only this one open
            page.locator(".lm-TabBar-tab.lm-mod-current", has_text=NOTEBOOK_05.name).wait_for()
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .pg-waterfall").first.wait_for(state="visible")
            assert stored_styles(lab.root / NOTEBOOK_05.name) - styles_in(page) == set()

            # Notebook 04: trace.mermaid() is drawn by JupyterLab's own Mermaid renderer, untrusted too.
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?reset&token={lab.token}")
            page.locator(".lm-TabBar-tab.lm-mod-current", has_text=NOTEBOOK.name).wait_for()
            diagram = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMermaid").first
            diagram.wait_for(state="visible")
            drawn = diagram.locator("svg, img").first
            drawn.wait_for(state="visible")
            # JupyterLab draws it as an inline SVG or as an <img> of one (a data: URL, base64 or not).
            text = diagram.evaluate("""(node) => {
                const svg = node.querySelector('svg');
                if (svg) return svg.textContent;
                const src = node.querySelector('img').src, data = src.slice(src.indexOf(',') + 1);
                return src.includes(';base64,') ? new TextDecoder().decode(
                    Uint8Array.from(atob(data), (c) => c.charCodeAt(0))) : decodeURIComponent(data);
            }""")
            for label in ("client", "app", "http.request", "http.response.start status=200", "returned"):
                assert label in text, (label, text[:500])
            box = drawn.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 150, box
            # A trace's own output carries the Mermaid text too, but JupyterLab ranks its HTML first.
            assert page.locator(".jp-OutputArea-output .pg-trace").count() >= 1
            screenshot(diagram, f"mermaid-{theme}.png")
        finally:
            browser.close()
