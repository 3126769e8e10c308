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


def test_an_http_text_with_a_byte_order_mark_parses() -> None:
    # Editors on Windows save one; the first request line read as the method '\ufeffGET'.
    [spec] = parse("\ufeffGET /users\nAccept: text/plain\n")
    assert isinstance(spec, HTTPRequestSpec)
    assert (spec.method, spec.url) == ("GET", "/users")


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


# -- the syntax points, with the examples of REST Client's and JetBrains' documentation ----------------

from datetime import UTC, datetime  # noqa: E402
from random import Random  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Private: only Variables takes a fixed clock and random source, which these tests need to be exact.
from playground._httpfile.variables import Variables  # noqa: E402
from playground.httpfile import parse_file, render, resolve  # noqa: E402

NOW = datetime(2024, 2, 29, 13, 5, 9, 123000, tzinfo=UTC)


def resolved(text: str, tmp_path: Path | None = None, **options: object) -> list[object]:
    file = parse_file(text, base_dir=tmp_path)
    variables = Variables(file, now=lambda: NOW, rng=Random(1), **options)  # type: ignore[arg-type]
    return [resolve(file, template, variables.substitute) for template in file.requests]


def test_jetbrains_names_after_the_separator_and_rest_client_names_in_comments() -> None:
    text = "### Get all users\nGET https://example.com/users\n\n###\n// @name one\nGET https://example.com/1\n"
    file = parse_file(text)
    assert [t.name for t in file.requests] == ["Get all users", "one"]
    assert [t.title for t in file.requests] == ["Get all users", "one"]
    assert parse_file("GET /a\n\n###\nGET /b").requests[1].title == "line 4"


def test_rest_client_file_variables_use_each_other_in_any_order() -> None:
    # REST Client's example: a variable may refer to one defined below it; the file is one scope.
    text = (
        "@hostname = api.example.com\n@port = 8080\n@host = {{hostname}}:{{port}}\n"
        "@contentType = application/json\n@createdAt = {{$datetime iso8601}}\n@modifiedBy = {{$processEnv USERNAME}}\n"
        "\n###\n@name = hello\n\nGET https://{{host}}/authors/{{name}} HTTP/1.1\n\n###\n"
        "PATCH https://{{host}}/authors/{{name}} HTTP/1.1\nContent-Type: {{contentType}}\n\n"
        '{\n    "content": "foo bar",\n    "created_at": "{{createdAt}}",\n    "modified_by": "{{modifiedBy}}"\n}\n'
    )
    get, patch = resolved(text, environ={"USERNAME": "ann"})
    assert get.url == "https://api.example.com:8080/authors/hello"  # type: ignore[attr-defined]
    assert patch.headers == [("Content-Type", "application/json")]  # type: ignore[attr-defined]
    assert '"created_at": "2024-02-29T13:05:09.123Z"' in patch.body  # type: ignore[attr-defined]
    assert '"modified_by": "ann"' in patch.body  # type: ignore[attr-defined]
    [later] = resolved("GET /{{b}}\n\n###\n@b = x{{a}}\n@a = 1\nGET /\n")[:1]
    assert later.url == "/x1"  # type: ignore[attr-defined]


def test_url_encoded_variables() -> None:
    [spec] = resolved("@q = a b&c/d\nGET /search?q={{%q}}&raw={{q}}\n")
    assert spec.url == "/search?q=a%20b%26c%2Fd&raw=a b&c/d"  # type: ignore[attr-defined]


def test_system_variables() -> None:
    text = "\n".join([
        "GET /x",
        "A: {{$guid}}",
        "B: {{$randomInt 5 7}}",
        "C: {{$timestamp}}",
        "D: {{$timestamp -1 d}}",
        "E: {{$datetime rfc1123}}",
        "F: {{$datetime iso8601 1 y}}",
        'G: {{$datetime "DD-MM-YYYY HH:mm:ss.SSS" -2 M}}',
        "H: {{$uuid}}",
        "I: {{$isoTimestamp}}",
        "J: {{$randomInt}}",
        "K: {{$datetime 'YYYY [year] h A'}}",
    ])
    [spec] = resolved(text)
    values = dict(spec.headers)  # type: ignore[attr-defined]
    import uuid

    assert uuid.UUID(values["A"]).version == 4 and uuid.UUID(values["H"]).version == 4
    assert values["A"] != values["H"]
    assert values["B"] in ("5", "6")
    assert values["C"] == str(int(NOW.timestamp()))
    assert values["D"] == str(int(NOW.timestamp()) - 86400)
    assert values["E"] == "Thu, 29 Feb 2024 13:05:09 GMT"
    assert values["F"] == "2025-02-28T13:05:09.123Z"  # no 29 February in 2025
    assert values["G"] == "29-12-2023 13:05:09.123"
    assert values["I"] == "2024-02-29T13:05:09.123Z"
    assert 0 <= int(values["J"]) < 1000
    assert values["K"] == "2024 year 1 PM"


def test_random_int_leaves_out_the_maximum() -> None:
    file = parse_file("GET /{{$randomInt 0 2}}")
    seen = {resolve(file, file.requests[0], Variables(file, rng=Random(seed)).substitute).url  # type: ignore[union-attr]
            for seed in range(50)}
    assert seen == {"/0", "/1"}


def test_process_env_and_dotenv_with_indirection(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('# secrets\nexport API_KEY="k-123"\nOTHER=two # a comment\n', encoding="utf-8")
    [spec] = resolved("GET /{{$dotenv API_KEY}}/{{$dotenv OTHER}}/{{$processEnv %var}}", tmp_path,
                      environment={"var": "HOME_DIR"}, environ={"HOME_DIR": "/home/ann"})
    assert spec.url == "/k-123/two//home/ann"  # type: ignore[attr-defined]


def test_request_line_without_method_and_with_version() -> None:
    # REST Client: "GET https://example.com/comments/1 HTTP/1.1", "https://example.com/comments/1"
    first, second = parse("GET https://example.com/comments/1 HTTP/1.1\n\n###\nhttps://example.com/comments/1")
    assert (first.method, first.http_version) == ("GET", "HTTP/1.1")  # type: ignore[union-attr]
    assert (second.method, second.url) == ("GET", "https://example.com/comments/1")


def test_query_lines_as_rest_client_documents_them() -> None:
    [spec] = parse("GET https://example.com/comments\n    ?page=2\n    &pageSize=10\n")
    assert spec.url == "https://example.com/comments?page=2&pageSize=10"
    [spec] = parse("GET /c\n?page=2\n&size={{n}}\nAccept: */*", variables={"n": 3})  # not indented: JetBrains
    assert spec.url == "/c?page=2&size=3"


def test_body_from_a_file_with_and_without_variables(tmp_path: Path) -> None:
    (tmp_path / "demo.xml").write_text("<user>{{name}}</user>", encoding="utf-8")
    raw, processed = parse("POST /a\n\n< ./demo.xml\n\n###\nPOST /b\n\n<@ ./demo.xml\n", base_dir=tmp_path,
                           variables={"name": "ann"})
    assert raw.body == "<user>{{name}}</user>"  # type: ignore[union-attr]
    assert processed.body == "<user>ann</user>"  # type: ignore[union-attr]


def test_jetbrains_websocket_example() -> None:
    text = (
        "WEBSOCKET ws://localhost:8080/websocket\nContent-Type: application/json\n\n"
        '===\n{\n  "message": "Hello, server!",\n  "repeat": 3\n}\n=== wait-for-server\n=== wait-for-server\n'
        '{\n  "message": "We send this message...",\n  "repeat": 1\n}\n===\n{"message": "{{$randomInt 1 2}}"}\n'
    )
    [spec] = resolved(text)
    assert isinstance(spec, WebSocketSpec)
    assert spec.url == "ws://localhost:8080/websocket"
    kinds = [type(step).__name__ for step in spec.steps]
    assert kinds == ["Send", "WaitForServer", "WaitForServer", "Send", "Send"]
    assert spec.steps[0] == Send('{\n  "message": "Hello, server!",\n  "repeat": 3\n}', 5)
    assert spec.steps[-1] == Send('{"message": "1"}', 16)


def test_assertions_are_read_before_after_and_between_the_parts() -> None:
    text = ("?? status == 200\nGET /a\nAccept: */*\n?? header content-type includes json\n\n"
            "body\n?? body $.id == 3\n?? body $['a key'][0] exists\n")
    [template] = parse_file(text).requests
    assert [(a.subject, a.argument, a.predicate, a.expected.text if a.expected else None, a.line_number)
            for a in template.assertions] == [
        ("status", None, "==", "200", 1), ("header", "content-type", "includes", "json", 4),
        ("body", "$.id", "==", "3", 7), ("body", "$['a key'][0]", "exists", None, 8)]
    assert [p.text for p in template.body or []] == ["body"]
    [ws] = parse_file("WEBSOCKET /ws\n\nhi\n?? message 1 $.n > 2\n?? close == 1000\n").requests
    assert [(a.subject, a.argument) for a in ws.assertions] == [("message", "1 $.n"), ("close", None)]
    assert [[p.text for p in step.lines] for step in ws.steps] == [["hi"]]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "line_number", "fragment"),
    [
        ("GET /a\n\n> {%\n  client.global.set('t', response.body.token);\n%}\n", 3, "response handlers"),
        ("GET /a\n\n> ./check.js\n", 3, "response handlers"),
        ("< {%\n  request.variables.set('x', 1)\n%}\nGET /a\n", 1, "pre-request scripts"),
        ("GET /a\n\n>> ./out.json\n", 3, "'>>'"),
        ("# @prompt username\nGET /u/{{username}}\n", 1, "username=..."),
        ("// @prompt otp Your one-time password\nGET /", 1, "{{otp}}"),
        ("# @no-cookie-jar\nGET /", 1, "no-cookie-jar"),
        ("POST /up\n\n--b\nContent-Disposition: form-data; name=f\n\n< ./a.txt\n--b--\n", 6, "multipart"),
        ("# @timeout soon\nGET /", 1, "timeout is"),
        ("GET /a\n\n?? js response.parsedBody.id == 1\n", 3, "JavaScript assertions"),
        ("GET /a\n\n?? status 200\n", 3, "no predicate"),
        ("GET /a\n\n?? status == ok\n", 3, "compared with a number"),
        ("GET /a\n\n?? header == x\n", 3, "name the header"),
        ("GET /a\n\n?? body $..id == 1\n", 3, "selects several values"),
        ("GET /a\n\n?? body $.id exists 3\n", 3, "takes no value"),
        ("GET /a\n\n?? body $.id ==\n", 3, "needs a value"),
        ("GET /a\n\n?? message 1 == x\n", 3, "for WEBSOCKET requests"),
        ("WEBSOCKET /ws\n\n?? status == 101\n", 3, "'message N'"),
        ("WEBSOCKET /ws\n\n?? message 0 == x\n", 3, "by its number"),
        ("?? status == 200\n", 1, "needs a request below"),
        ("# @name a\nGET /1\n###\n# @name a\nGET /2\n", 5, "already named 'a' (line 2)"),
        ("@a = 1\n@a = 2\nGET /", 2, "defined twice (first on line 1)"),
        ("@a = {{b}}\n@b = {{a}}\nGET /{{a}}", 2, "in a circle: @a -> @b -> @a (reached from line 3)"),
        ("GET /{{$randomInt 9 1}}", 1, "MIN below MAX"),
        ("GET /{{$timestamp 1 parsec}}", 1, "an offset is"),
        ("GET /{{$datetime}}", 1, "needs a format"),
        ("GET /{{$datetime unix}}", 1, "unknown date format"),
        ("GET /{{$aadToken}}", 1, "signs in"),
        ("GET /{{$processEnv NO_SUCH_VARIABLE_HERE}}", 1, "no environment variable"),
        ("GET /{{$dotenv NOPE}}", 1, "'NOPE' is not in"),
        ("GET /{{login.response.body.$.token}}", 1, "no request has that name"),
        ("GET /{{a.response.body.$.t}}\n\n###\n# @name a\nGET /", 1, "below this one"),
        ("@t = {{a.response.body.$.t}}\n# @name a\nGET /\n\n###\nGET /{{t}}", 1, "has not run"),
    ],
)
def test_more_errors_name_the_line(text: str, line_number: int, fragment: str, tmp_path: Path) -> None:
    with pytest.raises(HTTPFileError) as info:
        resolved(text, tmp_path, environ={})
    assert info.value.line_number == line_number
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"line {line_number}: {text.splitlines()[line_number - 1].strip()!r}: ")


def test_an_error_in_a_variable_says_where_it_was_used() -> None:
    with pytest.raises(HTTPFileError, match=r"^line 1: .*not defined.*\(reached from line 3\)$"):
        parse("@a = {{nope}}\n\nGET /{{a}}")


def test_an_error_names_the_file_when_there_is_one() -> None:
    with pytest.raises(HTTPFileError, match=r"^api\.http, line 2: 'nonsense': expected a header"):
        parse_file("GET /\nnonsense\n", path="api.http")


def test_directives_set_the_request_options() -> None:
    [template] = parse_file("# @no-redirect\n# @timeout 500 ms\n# @note just a comment\nGET /").requests
    assert (template.follow_redirects, template.timeout) == (False, 0.5)


# -- render and parse back --------------------------------------------------------------------------

TOKEN = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"),
                min_size=1, max_size=12)
PATH = st.lists(st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"], include_characters="-._~%"),
                        min_size=1, max_size=8), max_size=4).map(lambda parts: "/" + "/".join(parts))
QUERY = st.lists(st.tuples(TOKEN, TOKEN), max_size=3).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
HEADER_VALUE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
BODY = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)


@st.composite
def requests(draw: st.DrawFn) -> HTTPRequestSpec:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "QUERY", "OPTIONS"]))
    url = draw(PATH) + (f"?{q}" if (q := draw(QUERY)) else "")
    headers = draw(st.lists(st.tuples(TOKEN, HEADER_VALUE), max_size=4))
    body = draw(st.none() | BODY)
    version = draw(st.sampled_from([None, "HTTP/1.1", "HTTP/2"]))
    name = draw(st.none() | TOKEN)
    return HTTPRequestSpec(method, url, headers, body, version, name)


@settings(max_examples=300, deadline=None)
@given(requests())
def test_a_rendered_request_parses_back_the_same(spec: HTTPRequestSpec) -> None:
    try:
        text = render(spec)
    except ValueError as exc:  # the format has no escapes: it must say so, never write something else
        assert "cannot be written as .http text" in str(exc)
        return
    [back] = parse(text)
    assert isinstance(back, HTTPRequestSpec)
    spec.line_number = back.line_number
    assert back == spec


@settings(max_examples=100, deadline=None)
@given(requests().filter(lambda s: s.body is None or (s.body.strip() and "{{" not in s.body)))
def test_plain_requests_do_render(spec: HTTPRequestSpec) -> None:
    # Ordinary requests (no {{, no special first characters) must not be refused.
    spec.headers = [(n, v.strip()) for n, v in spec.headers if "{{" not in v and len(v.splitlines()) < 2]
    if spec.body is not None:
        lines = [line for line in spec.body.strip().splitlines() if line.strip() and line.strip()[0] not in "#<>?="]
        spec.body = "\n".join(lines) or None
    [back] = parse(render(spec))
    spec.line_number = back.line_number
    assert back == spec


def test_render_refuses_what_it_cannot_write() -> None:
    for spec, why in [
        (HTTPRequestSpec("POST", "/a", body="x\n### not a separator"), "body line"),
        (HTTPRequestSpec("GET", "/a b"), "the URL"),
        (HTTPRequestSpec("GET", "/a", headers=[("X", " padded ")]), "the header"),
        (HTTPRequestSpec("GET", "/{{x}}"), "variable"),
        (HTTPRequestSpec("POST", "/a", body="< ./file"), "read as a file"),
        (HTTPRequestSpec("POST", "/a", body="x\n\n"), "blank line"),
    ]:
        with pytest.raises(ValueError, match=why):
            render(spec)


@pytest.mark.parametrize("body", ["<", "< ", "<@", "<\tx", "x\n< ./file", "a\n> {% ok %}"])
def test_render_writes_a_body_line_exactly_as_the_parser_reads_it(body: str) -> None:
    # One rule for "a body from a file" and for the editors' script lines: render refuses a line only
    # where the parser would read it as something else, and a refused one is refused for that reason.
    spec = HTTPRequestSpec("POST", "/a", body=body)
    try:
        text = render(spec)
    except ValueError as exc:
        with pytest.raises(HTTPFileError):
            parse(f"POST /a\n\n{body}\n")
        assert "body line" in str(exc)
        return
    [back] = parse(text)
    assert isinstance(back, HTTPRequestSpec) and back.body == body


def test_the_syntax_table_documents_every_subject_predicate_and_system_variable() -> None:
    from playground._httpfile.variables import SYSTEM_VARIABLES  # the table itself: nothing public lists it
    from playground.httpfile import PREDICATES, SUBJECTS

    docs = (Path(__file__).parents[2] / "docs" / "httpfiles.md").read_text(encoding="utf-8")
    for word in (*SUBJECTS, *PREDICATES):
        assert f"`{word}" in docs or f" `{word}`" in docs, word
    for name in SYSTEM_VARIABLES:
        assert "{{" + name in docs, name
