"""The seed's chat page in a real browser: served by ``serve()``, driven by Playwright through Chromium.

Uses the system's Chromium (Debian's ``/usr/bin/chromium``), never a downloaded one; without it the
tests skip. Playwright's async API runs on the same event loop as the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from chat_app import app
from chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium, open_chat, send

from playground import serve

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.browser,
    needs_chromium,
]


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def test_chat_page_echoes_messages(page: Any) -> None:
    async with serve(app) as server:
        await open_chat(page, server.url)
        assert await page.title() == "Chat"
        # The socket follows the port the page came from, not the documentation's localhost:8000.
        assert await page.evaluate("ws.url") == f"ws://127.0.0.1:{server.port}/ws"
        await send(page, "hello")
        await send(page, "second message")
        items = page.locator("#messages li")
        await items.nth(1).wait_for()
        assert await items.all_text_contents() == [
            "Message text was: hello", "Message text was: second message",
        ]
        assert await page.input_value("#messageText") == ""  # the form clears after sending
        assert any('"WebSocket /ws" [accepted]' in line for line in server.logs)


async def test_markup_in_a_message_shows_as_text(page: Any) -> None:
    markup = "<b>x</b><script>window.injected = true</script><img src=x onerror='window.injected = true'>"
    async with serve(app) as server:
        await open_chat(page, server.url)
        await send(page, markup)
        item = page.locator("#messages li").first
        await item.wait_for()
        assert await item.text_content() == f"Message text was: {markup}"
        assert await page.locator("#messages b, #messages script, #messages img").count() == 0
        assert await page.evaluate("window.injected === undefined")


async def test_page_reconnects_to_a_restarted_server(page: Any) -> None:
    server = await serve(app)
    try:
        await open_chat(page, server.url)
        await page.evaluate("() => { ws.onclose = function (event) { window.closeCode = event.code } }")
        await server.stop()
        # The browser sees the server go away: its socket closes with 1001 (going away).
        await page.wait_for_function("window.closeCode !== undefined")
        assert await page.evaluate("window.closeCode") == 1001
        await server  # started again, on the same port
        await open_chat(page, server.url)
        await send(page, "again")
        await page.locator("#messages li").first.wait_for()
        assert await page.locator("#messages li").all_text_contents() == ["Message text was: again"]
    finally:
        await server.stop()
