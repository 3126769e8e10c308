"""The system's Chromium (Debian's ``/usr/bin/chromium``), never a downloaded one, for the tests that
drive a browser, and the two steps that drive the seed's chat page (``chat_app``) in it."""

from __future__ import annotations

import os
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
#: A module's or a test's mark: skipped, saying why, on a machine without Chromium.
needs_chromium = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM}")


async def open_chat(page: Any, url: str) -> None:
    await page.goto(url + "/")
    # The page's socket opens after load; wait until it is usable before typing.
    await page.wait_for_function("typeof ws !== 'undefined' && ws.readyState === WebSocket.OPEN")


async def send(page: Any, text: str) -> None:
    await page.fill("#messageText", text)
    await page.click("button")
