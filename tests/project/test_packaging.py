"""The project's setup: the two environments agree, the import stays light, `make lab` comes up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from sockets import free_port

ROOT = Path(__file__).resolve().parents[2]


def _requirement(spec: str) -> tuple[str, str]:
    # An environment marker (after ";") is left out: conda's environment is never the browser's.
    name, version = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*([^;]*)", spec).groups()  # type: ignore[union-attr]
    return name.lower().replace("_", "-"), version.replace(" ", "")


def test_environment_yml_lists_the_same_packages_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = dict(_requirement(s) for s in project["dependencies"] + extras["lab"] + extras["test"])
    conda: dict[str, str] = {}
    pip_lines: list[str] = []
    in_deps = in_pip = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and re.match(r"^\s{2}- pip:\s*$", line):
            in_pip = True
            continue
        if in_deps and (m := re.match(r"^\s{2}- (\S.*)$", line)):
            in_pip = False
            name, version = _requirement(m.group(1))
            if name not in ("python", "pip"):
                conda[name] = version
        elif in_pip and (m := re.match(r"^\s{6}- (\S.*)$", line)):
            pip_lines.append(m.group(1))
    assert pip_lines[-1:] == ["-e ."], "the project itself is installed from the checkout with pip"
    from_pip = dict(_requirement(spec) for spec in pip_lines[:-1])
    assert not conda.keys() & from_pip.keys(), "each package comes from one place"
    assert {**conda, **from_pip} == wanted


def test_what_cannot_exist_in_the_browser_is_left_out_there() -> None:
    """uvicorn, websockets and ipykernel have no wheel for Pyodide: `%pip install playground` skips them."""
    from packaging.requirements import Requirement

    browser = {"sys_platform": "emscripten", "platform_machine": "wasm32", "python_version": "3.14"}
    requirements = [Requirement(s) for s in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                    ["dependencies"]]
    left_out = {r.name for r in requirements if r.marker is not None and not r.marker.evaluate(browser)}
    assert left_out == {"websockets", "uvicorn", "ipykernel"}
    assert all(r.marker is None or r.marker.evaluate() for r in requirements), "all of them are installed here"


def test_binder_builds_on_a_python_the_project_supports() -> None:
    # repo2docker (Binder) reads environment.yml's Python version only in the form python=X.Y (its
    # conda buildpack's PYTHON_REGEX); any other form makes it build on its default, 3.10.
    lines = (ROOT / "environment.yml").read_text().splitlines()
    versions = [m.group(1) for line in lines if (m := re.match(r"^\s{2}- python\s*=+\s*([\d.]+)\s*$", line))]
    assert len(versions) == 1, "one python=X.Y line"
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert floor.startswith(">=")
    assert tuple(map(int, versions[0].split("."))) >= tuple(map(int, floor[2:].split(".")))


def test_import_playground_stays_light() -> None:
    code = (
        "import sys, playground\n"
        "heavy = [m for m in ('uvicorn', 'websockets', 'IPython', 'trio', 'jupyter_client') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == ""


def test_every_public_name_is_importable() -> None:
    import playground

    for name in playground.__all__:
        assert getattr(playground, name) is not None, name


@pytest.mark.timeout(240)
def test_make_lab_answers_on_its_port() -> None:
    if not (ROOT / ".venv" / "bin" / "jupyter-lab").exists():
        pytest.skip("JupyterLab is not installed in .venv (make test installs it with the test extra)")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "LAB_ARGS": "--no-browser --ServerApp.token=probe"}
    lab = subprocess.Popen(["make", "-s", "lab"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 200
        while True:
            assert lab.poll() is None, "make lab exited early"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=probe", timeout=5) as r:
                    listing = r.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer in time"
                time.sleep(0.5)
        assert "01-http-endpoints.ipynb" in listing, "JupyterLab serves the notebooks folder"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=probe", timeout=5) as r:
            assert r.status == 200
            page = r.read().decode()
        # No "get notified about official Jupyter news?" prompt: the news are off by default, and not fetched.
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      page, re.DOTALL).group(1))  # type: ignore[union-attr]
        assert config["news"] == {"disabled": True}
        settings_url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification"
        with urllib.request.urlopen(settings_url + "?token=probe", timeout=5) as r:
            defaults = {name: p["default"] for name, p in json.load(r)["schema"]["properties"].items()}
        assert (defaults["fetchNews"], defaults["checkForUpdates"]) == ("false", False)
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(timeout=30)
