"""HAR 1.2 (HTTP Archive): the exchanges of a notebook, for a browser's network panel and HAR tools.

``to_har(*exchanges)`` takes responses, WebSocket sessions, or iterables of them (a client's
``history``) and gives the archive as a dict; ``save_har(path, *exchanges)`` writes it as JSON. A
WebSocket session is written as Chrome writes one: ``"_resourceType": "websocket"`` and its messages in
``"_webSocketMessages"``. By default the archive leaves out ``Authorization``, ``Cookie`` and
``Set-Cookie`` (and the cookies read from them), as browsers' HAR exports now do; ``sanitized=False``
keeps them. As in Chrome's archives, a session's ``time`` is its opening handshake (until the app
accepted or refused), and each message carries its own time.

Times: the offsets a trace recorded (a monotonic clock) are placed on the wall clock once, when the
archive is made. There is no wire in-process, so ``headersSize`` is -1 (unknown), as the format allows.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx

from .display.common import elapsed_of, header_pairs

__all__ = ["SENSITIVE_HEADERS", "save_har", "to_har"]

#: Left out of a sanitized archive: what would let a reader of the file act as the user.
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})


def _version() -> str:
    from . import __version__

    return __version__


def _wall_clock(trace: Any, now: tuple[float, float]) -> float:
    """The wall-clock time (seconds since the epoch) a trace started, from its monotonic start."""
    wall, monotonic = now
    return wall - (monotonic - trace.started_at)


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(seconds: float | None) -> float:
    return round(max(seconds or 0.0, 0.0) * 1000, 3)


def _exchanges(items: Iterable[Any]) -> Iterator[Any]:
    """Every response (after the redirects it followed) and session, once each, in the order given."""
    seen: set[int] = set()
    for item in items:
        if isinstance(item, (httpx.Response,)) or hasattr(item, "transcript"):
            group = [*getattr(item, "history", []), item] if isinstance(item, httpx.Response) else [item]
        elif isinstance(item, Iterable) and not isinstance(item, (str, bytes, dict)):
            group = list(_exchanges(item))
        else:
            raise TypeError(f"to_har() takes responses, WebSocket sessions or a client's history, "
                            f"got {type(item).__name__}")
        for exchange in group:
            if id(exchange) not in seen:
                seen.add(id(exchange))
                yield exchange


def _headers(pairs: Iterable[Any], sanitized: bool) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in header_pairs(pairs)
            if not (sanitized and name.lower() in SENSITIVE_HEADERS)]


def _request_cookies(pairs: list[tuple[str, str]], sanitized: bool) -> list[dict[str, str]]:
    if sanitized:
        return []
    cookies = []
    for name, value in pairs:
        if name.lower() == "cookie":
            for part in value.split(";"):
                key, _, val = part.strip().partition("=")
                if key:
                    cookies.append({"name": key, "value": val})
    return cookies


def _response_cookies(pairs: list[tuple[str, str]], sanitized: bool) -> list[dict[str, Any]]:
    if sanitized:
        return []
    from http.cookies import SimpleCookie

    cookies = []
    for name, value in pairs:
        if name.lower() != "set-cookie":
            continue
        jar = SimpleCookie()
        try:
            jar.load(value)
        except Exception:  # http.cookies.CookieError: keep what a browser would show, the raw pair
            key, _, val = value.partition(";")[0].partition("=")
            cookies.append({"name": key.strip(), "value": val.strip()})
            continue
        for morsel in jar.values():
            cookie: dict[str, Any] = {"name": morsel.key, "value": morsel.value}
            for attribute, field in (("path", "path"), ("domain", "domain"), ("expires", "expires")):
                if morsel[attribute]:
                    cookie[field] = morsel[attribute]
            cookie["httpOnly"] = bool(morsel["httponly"])
            cookie["secure"] = bool(morsel["secure"])
            cookies.append(cookie)
    return cookies


def _query(url: httpx.URL) -> list[dict[str, str]]:
    query = url.query.decode("ascii", "replace")
    return [{"name": name, "value": value} for name, value in parse_qsl(query, keep_blank_values=True)]


def _text_or_base64(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(data).decode("ascii"), "encoding": "base64"}


def _http_version(version: str | None) -> str:
    version = version or "1.1"
    return version if version.upper().startswith("HTTP/") else f"HTTP/{version}"


def _post_data(request: httpx.Request) -> dict[str, Any] | None:
    try:
        body = request.content
    except httpx.RequestNotRead:
        return None
    if not body:
        return None
    mime_type = request.headers.get("content-type", "")
    data: dict[str, Any] = {"mimeType": mime_type}
    content = _text_or_base64(body)
    if "encoding" in content:
        data["text"], data["_encoding"] = content["text"], "base64"  # HAR 1.2 has no encoding here
    else:
        data["text"] = content["text"]
    return data  # no "params" for a form: HAR 1.2 makes "text" and "params" exclusive, and text says all


def _timings(trace: Any) -> tuple[dict[str, float], float]:
    """send: until the app had the whole request; wait: until the response started; receive: the body."""
    sent = started = ended = 0.0
    for event in trace.events if trace is not None else []:
        kind = event.message.get("type", "")
        if kind == "http.request":
            sent = event.offset
        elif kind == "http.response.start" and not started:
            started = event.offset
        elif kind == "http.response.body":
            ended = event.offset
    started = max(started, sent)
    ended = max(ended, started)
    timings = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
               "send": _ms(sent), "wait": _ms(started - sent), "receive": _ms(ended - started)}
    return timings, round(timings["send"] + timings["wait"] + timings["receive"], 3)


def _response_entry(response: Any, sanitized: bool, now: tuple[float, float]) -> dict[str, Any]:
    request: httpx.Request = response.request
    trace = getattr(response, "trace", None)
    request_pairs = header_pairs(request.headers.raw)
    response_pairs = header_pairs(response.headers.raw)
    timings, total = _timings(trace)
    if trace is None:  # a plain httpx response: only its elapsed time is known
        elapsed = elapsed_of(response)
        timings.update(send=0.0, wait=_ms(elapsed), receive=0.0)
        total = timings["wait"]
        started = now[0] - (elapsed or 0.0)
    else:
        started = _wall_clock(trace, now)
    http_version = _http_version(trace.scope.get("http_version") if trace is not None else response.http_version)

    try:
        body = response.content
    except httpx.ResponseNotRead:
        body = None
    content: dict[str, Any] = {"size": len(body) if body is not None else -1,
                               "mimeType": response.headers.get("content-type", "")}
    if body:
        content.update(_text_or_base64(body))
    elif body is None:
        content["comment"] = "a stream whose body was not read"
    wire = [event.message.get("body", b"") for event in trace.events
            if event.message.get("type") == "http.response.body"] if trace is not None else []
    body_size = sum(len(chunk) for chunk in wire) if trace is not None else (len(body) if body is not None else -1)
    if body is not None and body_size != len(body):
        content["compression"] = len(body) - body_size

    entry: dict[str, Any] = {
        "startedDateTime": _iso(started),
        "time": total,
        "request": {
            "method": request.method,
            "url": str(request.url),
            "httpVersion": http_version,
            "cookies": _request_cookies(request_pairs, sanitized),
            "headers": _headers(request.headers.raw, sanitized),
            "queryString": _query(request.url),
            "headersSize": -1,
            "bodySize": len(request.content) if isinstance(request.stream, httpx.ByteStream) else -1,
        },
        "response": {
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "httpVersion": http_version,
            "cookies": _response_cookies(response_pairs, sanitized),
            "headers": _headers(response.headers.raw, sanitized),
            "content": content,
            "redirectURL": response.headers.get("location", ""),
            "headersSize": -1,
            "bodySize": body_size,
        },
        "cache": {},
        "timings": timings,
    }
    post_data = _post_data(request)
    if post_data is not None:
        entry["request"]["postData"] = post_data
    server = trace.scope.get("server") if trace is not None else None
    if server and trace is not None and trace.seen_from == "client":
        entry["serverIPAddress"] = str(server[0])
    if trace is not None and trace.outcome not in ("returned", "complete"):
        entry["comment"] = f"outcome: {trace.outcome}"
    return entry


def _websocket_messages(session: Any, started: float) -> list[dict[str, Any]]:
    """Chrome's ``_webSocketMessages``: type send/receive, time in seconds since the epoch, opcode, data."""
    messages = []
    for line in session.transcript:
        if line.kind not in ("text", "bytes"):
            continue
        message: dict[str, Any] = {"type": "send" if line.sender == "client" else "receive",
                                   "time": round(started + line.offset, 6)}
        if line.kind == "text":
            message.update(opcode=1, data=line.data)
        else:
            message.update(opcode=2, data=base64.b64encode(line.data).decode("ascii"))
        messages.append(message)
    return messages


def _session_entry(session: Any, sanitized: bool, now: tuple[float, float]) -> dict[str, Any]:
    trace = session.trace
    scope = trace.scope
    started = _wall_clock(trace, now)
    url = httpx.URL(session.url)
    request_pairs = header_pairs(scope.get("headers", []))
    answered = None
    denial = getattr(session, "_denial", None)
    for event in trace.events:
        kind = event.message.get("type")
        if kind in ("websocket.accept", "websocket.http.response.start") or (
                kind == "websocket.close" and answered is None):
            answered = event.offset
            break
    if session.accepted:
        status, status_text, response_headers = 101, "Switching Protocols", list(session.accept_headers)
    elif denial is not None:
        status = denial["status"]
        status_text, response_headers = httpx.codes.get_reason_phrase(status), denial["headers"]
    else:  # closed before accepting: a server answers 403
        status, status_text, response_headers = 403, "Forbidden", []
    wait = _ms(answered)
    entry: dict[str, Any] = {
        "startedDateTime": _iso(started),
        "time": wait,
        "request": {
            "method": "GET",
            "url": str(url),
            "httpVersion": _http_version(scope.get("http_version")),
            "cookies": _request_cookies(request_pairs, sanitized),
            "headers": _headers(scope.get("headers", []), sanitized),
            "queryString": _query(url),
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": _http_version(scope.get("http_version")),
            "cookies": _response_cookies(header_pairs(response_headers), sanitized),
            "headers": _headers(response_headers, sanitized),
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0.0, "wait": wait, "receive": 0.0},
        "_resourceType": "websocket",
        "_webSocketMessages": _websocket_messages(session, started),
    }
    if session.closed:
        entry["comment"] = (f"closed by the {session.closed_by} with code {session.close_code}"
                            + (f", reason {session.close_reason!r}" if session.close_reason else ""))
    return entry


def to_har(*exchanges: Any, sanitized: bool = True, comment: str | None = None) -> dict[str, Any]:
    """The exchanges as a HAR 1.2 archive (a dict ready for ``json.dumps``).

    ``exchanges``: responses, WebSocket sessions, or iterables of them such as ``client.history``; a
    response that followed redirects brings its hops along, each exchange appears once.
    ``sanitized``: leave out ``Authorization``, ``Cookie`` and ``Set-Cookie`` (the default).
    """
    now = (time.time(), time.perf_counter())
    entries = []
    for exchange in _exchanges(exchanges):
        if isinstance(exchange, httpx.Response):
            entries.append(_response_entry(exchange, sanitized, now))
        elif getattr(exchange, "trace", None) is not None and len(exchange.trace):
            entries.append(_session_entry(exchange, sanitized, now))
        # A session that was never connected has nothing to archive.
    entries.sort(key=lambda entry: entry["startedDateTime"])
    log: dict[str, Any] = {"version": "1.2", "creator": {"name": "playground", "version": _version()},
                           "entries": entries}
    if comment:
        log["comment"] = comment
    return {"log": log}


def save_har(path: str | os.PathLike[str], *exchanges: Any, sanitized: bool = True,
             comment: str | None = None) -> dict[str, Any]:
    """Write ``to_har(*exchanges)`` to ``path`` as UTF-8 JSON; returns the archive."""
    archive = to_har(*exchanges, sanitized=sanitized, comment=comment)
    text = json.dumps(archive, indent=2, ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    return archive
