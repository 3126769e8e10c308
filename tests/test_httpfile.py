"""The .http request format: what it reads, and how a mistake is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.httpfile import (
    HTTPFileError,
    HTTPRequestSpec,
    Send,
    WaitForServer,
    WebSocketSpec,
    parse,
    parse_websocket_messages,
)


def test_a_bare_url_is_a_get() -> None:
    [spec] = parse("/users/tom")
    assert isinstance(spec, HTTPRequestSpec)
    assert (spec.method, spec.url, spec.headers, spec.body, spec.http_version) == ("GET", "/users/tom", [], None, None)


def test_request_line_headers_and_body() -> None:
    text = 'POST /users HTTP/1.1\nContent-Type: application/json\nX-Trace:  yes\n\n{"name": "tom"}\n\n'
    [spec] = parse(text)
    assert isinstance(spec, HTTPRequestSpec)
    assert spec.method == "POST"
    assert spec.url == "/users"
    assert spec.http_version == "HTTP/1.1"
    assert spec.headers == [("Content-Type", "application/json"), ("X-Trace", "yes")]
    assert spec.body == '{"name": "tom"}'
    assert spec.line_number == 1


def test_several_requests_comments_names_and_line_numbers() -> None:
    text = "\n".join([
        "# a comment",
        "// another",
        "GET /a",
        "",
        "### second one",
        "DELETE /b",
        "###",
        "# @name third",
        "QUERY /c",
        "",
        "body line 1",
        "# not a comment inside a body",
    ])
    first, second, third = parse(text)
    assert (first.method, first.url, first.name, first.line_number) == ("GET", "/a", None, 3)
    assert (second.method, second.url, second.name, second.line_number) == ("DELETE", "/b", "second one", 6)
    assert isinstance(third, HTTPRequestSpec)
    assert (third.method, third.name, third.line_number) == ("QUERY", "third", 9)
    assert third.body == "body line 1\n# not a comment inside a body"


def test_query_continues_on_indented_lines() -> None:
    [spec] = parse("GET /search\n    ?q=asgi\n    &page=2\nAccept: */*\n")
    assert spec.url == "/search?q=asgi&page=2"
    assert spec.headers == [("Accept", "*/*")]


def test_variables_from_the_text_and_from_outside() -> None:
    text = (
        "@host = http://testserver\n@user = tom\n\n"
        "GET {{host}}/users/{{ user }}?token={{token}}\nX-User: {{user}}\n\n"
        '{"u": "{{user}}"}'
    )
    [spec] = parse(text, variables={"token": 42, "user": "ignored: the file's own wins"})
    assert spec.url == "http://testserver/users/tom?token=42"
    assert spec.headers == [("X-User", "tom")]
    assert spec.body == '{"u": "tom"}'


def test_body_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "payload.json").write_text('{"from": "file"}', encoding="utf-8")
    [spec] = parse("POST /x\nContent-Type: application/json\n\n< ./payload.json\n", base_dir=tmp_path)
    assert spec.body == '{"from": "file"}'


def test_websocket_request_with_messages_and_waits() -> None:
    text = "\n".join([
        "WEBSOCKET ws://testserver/ws",
        "Sec-WebSocket-Protocol: chat, superchat",
        "",
        "===",
        '{"message": "hello"}',
        "=== wait-for-server",
        "=== wait-for-server",
        "line one",
        "line two",
    ])
    [spec] = parse(text)
    assert isinstance(spec, WebSocketSpec)
    assert spec.url == "ws://testserver/ws"
    assert spec.subprotocols == ["chat", "superchat"]
    assert spec.steps == [Send('{"message": "hello"}', 5), WaitForServer(6), WaitForServer(7),
                          Send("line one\nline two", 8)]


def test_ws_cell_lines_are_messages_unless_separated() -> None:
    assert parse_websocket_messages("hi\n\nthere {{x}}\n", variables={"x": 1}) == [Send("hi", 1), Send("there 1", 3)]
    assert parse_websocket_messages("a\nb\n===\nc") == [Send("a\nb", 1), Send("c", 4)]


@pytest.mark.parametrize(
    ("text", "line_number", "fragment"),
    [
        ("GET /a\nthis is not a header\n", 2, "expected a header"),
        ("get /a", 1, "is not a method"),
        ("GET /a HTTP/x", 1, "is not an HTTP version"),
        ("GET /a b c", 1, "request line is"),
        ("GET /{{missing}}", 1, "{{missing}} is not defined"),
        ("@x = 1\n###\nPOST /a\n\n{{y}}", 5, "{{y}} is not defined"),
        ("GET /{{$nope}}", 1, "unknown system variable"),
        ("@ broken\nGET /", 1, "'@name = value'"),
        ("GET ws://host/ws", 1, "needs the WEBSOCKET method"),
        ("WEBSOCKET /ws\n\nhi\n=== wait-for-nothing\n", 4, "unknown separator option"),
        ("POST /a\n\n< ./no-such-file.json\n", 3, "cannot read the body file"),
        ("POST /a\n\n< ./f.json\nmore\n", 4, "nothing may follow"),
    ],
)
def test_errors_name_the_line(text: str, line_number: int, fragment: str, tmp_path: Path) -> None:
    with pytest.raises(HTTPFileError) as info:
        parse(text, base_dir=tmp_path)
    error = info.value
    assert error.line_number == line_number
    assert fragment in str(error)
    line = text.splitlines()[line_number - 1]
    assert str(error).startswith(f"line {line_number}: {line.strip()!r}: ")


def test_nothing_to_send_is_an_error() -> None:
    with pytest.raises(HTTPFileError, match="no request found"):
        parse("# only a comment\n\n@x = 1\n")
