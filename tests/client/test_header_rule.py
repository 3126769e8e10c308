"""The header rule is h11's: for every byte, in every position, the in-process client refuses exactly
the header names and values that h11 (httpx's HTTP/1.1 engine, so live mode) refuses."""

from __future__ import annotations

from typing import Any

import h11
import httpx
import pytest
from starlette.responses import PlainTextResponse

from playground import Client

pytestmark = pytest.mark.anyio


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await PlainTextResponse("ok")(scope, receive, send)


def h11_accepts(name: bytes, value: bytes) -> bool:
    try:
        h11.Request(method="GET", target="/", headers=[(b"host", b"h"), (name, value)])
    except h11.LocalProtocolError:
        return False
    return True


async def client_accepts(client: Client, name: bytes, value: bytes) -> bool:
    try:
        await client.get("/", headers=[(name, value)])
    except httpx.LocalProtocolError:
        return False
    return True


def values_around(byte: bytes) -> list[bytes]:
    return [byte, b"a" + byte + b"b", byte + b"a", b"a" + byte, b"a" + byte + byte + b"b"]


async def test_header_values_match_h11_for_every_byte() -> None:
    client = Client(app)
    differences = []
    for code in range(256):
        for value in values_around(bytes([code])):
            expected = h11_accepts(b"x-test", value)
            if await client_accepts(client, b"x-test", value) != expected:
                differences.append((value, expected))
    assert differences == []


async def test_header_names_match_h11_for_every_byte() -> None:
    client = Client(app)
    differences = []
    for code in range(256):
        for name in (b"x" + bytes([code]), bytes([code]) + b"x"):
            expected = h11_accepts(name, b"v")
            if await client_accepts(client, name, b"v") != expected:
                differences.append((name, expected))
    assert differences == []


async def test_control_and_obsolete_bytes_h11_allows_reach_the_app() -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["headers"])
        await app(scope, receive, send)

    client = Client(recording)
    await client.get("/", headers=[(b"x-test", b"a\x01b\x7f\xff")])
    assert (b"x-test", b"a\x01b\x7f\xff") in seen[0]
    # ...and the ones it refuses never do: a smuggled line, a NUL, a space at either end.
    for value in (b"a\r\nx-admin: 1", b"a\x00b", b" a", b"a\t"):
        with pytest.raises(httpx.LocalProtocolError, match="Illegal header value"):
            await client.get("/", headers=[(b"x-test", value)])
    assert len(seen) == 1
