"""A hung app: under the drop-in the test fails with AppTimeout naming the app's line; under
Starlette's TestClient the same test never ends (run in a subprocess, killed after a few seconds)."""

from __future__ import annotations

import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playground import AppTimeout
from playground.testing import TestClient

HUNG_APP = textwrap.dedent("""
    import anyio
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def report(request):
        await anyio.Event().wait()  # waits for something that never happens

    app = Starlette(routes=[Route("/report", report)])
""")

KILL_AFTER = 5.0  # seconds: ten times the drop-in's timeout below


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "hung_app.py"
    path.write_text(HUNG_APP)
    return path


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_drop_in_fails_a_hung_app_within_its_timeout(backend: str, app_file: Path) -> None:
    client = TestClient(runpy.run_path(str(app_file))["app"], backend=backend, timeout=0.5)
    with pytest.raises(AppTimeout) as raised:
        client.get("/report")
    assert raised.value.timeout == 0.5 and raised.value.phase == "response start"
    assert "the app was waiting in report, line 7: await anyio.Event().wait()" in str(raised.value)
    assert client.get  # the client is still usable: the hung call was cancelled
    with pytest.raises(AppTimeout):
        with client:
            client.get("/report")


def test_starletteʼs_testclient_hangs_on_the_same_app(app_file: Path) -> None:
    script = app_file.read_text() + textwrap.dedent("""
        import warnings
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
        print("sending", flush=True)
        TestClient(app).get("/report")
        print("returned", flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child.communicate(timeout=KILL_AFTER)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
        hung = True
    else:
        hung = False
    assert out.splitlines() == ["sending"]
    assert hung, f"Starlette's TestClient returned from a hung app (exit code {child.returncode})"
