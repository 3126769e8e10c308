"""A request sent again elsewhere: a ``curl`` or HTTPie command for a live server, or ``.http`` text.

The command sends what the client sent: the method, the path and query as they went out, every
header, the body byte for byte. ``base_url`` replaces where it goes (``http://testserver`` of an
in-process client is nowhere on the network): its scheme, host and port, and its path in front of the
request's. Host and Content-Length are left to the tool (they follow from the URL and the body), and
the tool's own default headers that the request did not have are switched off. Quoting is for a POSIX
shell: every argument single-quoted where needed; a body that is not UTF-8 text, or holds a NUL byte
(which no argument can), is piped in from ``printf`` with octal escapes.
"""

from __future__ import annotations

import shlex
from typing import Any, NamedTuple

import httpx

__all__ = ["Outgoing", "outgoing", "to_curl", "to_http", "to_httpie"]

#: What a tool derives itself from the URL and the body.
DERIVED_HEADERS = frozenset({"host", "content-length"})
#: curl's own headers, sent unless a header of the same name is given (an empty ``-H 'Name:'`` drops one).
CURL_DEFAULTS = ("User-Agent", "Accept")
HTTPIE_DEFAULTS = ("User-Agent", "Accept", "Accept-Encoding", "Connection")
#: curl asks for ``Expect: 100-continue`` above some body size (1 KiB in older versions, 1 MiB now).
EXPECT_THRESHOLD = 1024


class Outgoing(NamedTuple):
    method: str
    url: str
    headers: list[tuple[str, str]]  # without the derived ones
    body: bytes | None  # None: no body at all (not even an empty one with Content-Length: 0)


def _request_of(exchange: Any) -> httpx.Request:
    if isinstance(exchange, httpx.Request):
        return exchange
    request = getattr(exchange, "request", None)
    if isinstance(request, httpx.Request):
        return request
    raise TypeError(f"expected a response or an httpx.Request, got {type(exchange).__name__}")


def _rebase(url: httpx.URL, base_url: str | httpx.URL) -> httpx.URL:
    base = httpx.URL(base_url)
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError(f"base_url must be an http:// or https:// URL with a host, got {str(base_url)!r}")
    prefix = base.raw_path.partition(b"?")[0].rstrip(b"/")
    return base.copy_with(raw_path=prefix + url.raw_path)


def outgoing(exchange: Any, base_url: str | httpx.URL | None = None) -> Outgoing:
    """What a request sends, ready to be written as a command: the URL rebased, derived headers out."""
    request = _request_of(exchange)
    url = request.url if base_url is None else _rebase(request.url, base_url)
    headers = []
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        lower = name.lower()
        if lower == "content-length":
            continue
        # Host follows from the URL, unless the request set one of its own and goes where it went.
        if lower == "host" and (base_url is not None or value == url.netloc.decode("ascii")):
            continue
        headers.append((name, value))
    try:
        content = request.content
    except httpx.RequestNotRead:
        raise ValueError("the request's body is a stream that was not read; read it first "
                         "(await request.aread())") from None
    has_body = bool(content) or "content-length" in request.headers or "transfer-encoding" in request.headers
    return Outgoing(request.method, str(url), headers, content if has_body else None)


def _is_argument_text(body: bytes) -> bool:
    if b"\x00" in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _printf(body: bytes) -> str:
    """``printf '...'`` writing ``body`` exactly: printf's own octal escapes for anything unusual."""
    out = []
    for index, byte in enumerate(body):
        char = chr(byte)
        if char == "-" and index == 0:
            out.append("\\055")  # a format starting with "-" would be read as one of printf's options
        elif char == "\\":
            out.append("\\\\")
        elif char == "%":
            out.append("%%")
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "printf " + shlex.quote("".join(out))


def _missing(defaults: tuple[str, ...], headers: list[tuple[str, str]]) -> list[str]:
    present = {name.lower() for name, _ in headers}
    return [name for name in defaults if name.lower() not in present]


def to_curl(exchange: Any, base_url: str | httpx.URL | None = None) -> str:
    """The ``curl`` command that sends the same request (to ``base_url`` instead, when given)."""
    out = outgoing(exchange, base_url)
    args = ["curl"]
    pipe = ""
    method = out.method
    if method == "HEAD":
        if out.body is not None:
            raise ValueError("curl cannot send a HEAD request with a body (it would wait for a response body)")
        args.append("--head")  # -X HEAD would wait for a body that never comes
    elif not (method == "GET" and out.body is None) and not (method == "POST" and out.body is not None):
        args += ["-X", method]
    url = httpx.URL(out.url)
    if any(char in out.url for char in "[]{}"):
        args.append("--globoff")  # curl would read [1-9] and {a,b} as URL patterns
    if b"/./" in url.raw_path or b"/../" in url.raw_path or url.raw_path.endswith((b"/.", b"/..")):
        args.append("--path-as-is")
    for name, value in out.headers:
        args += ["-H", f"{name}: {value}" if value else f"{name};"]  # 'Name;' sends an empty value
    for name in _missing(CURL_DEFAULTS, out.headers):
        args += ["-H", f"{name}:"]
    if out.body is not None:
        # curl adds a form Content-Type to any body, and may ask for 100-continue before a large one.
        for name in _missing(("Content-Type",), out.headers):
            args += ["-H", f"{name}:"]
        if len(out.body) > EXPECT_THRESHOLD and not any(n.lower() == "expect" for n, _ in out.headers):
            args += ["-H", "Expect:"]
        if _is_argument_text(out.body):
            args += ["--data-raw", out.body.decode("utf-8")]  # --data-raw: a leading @ is not a file
        else:
            pipe = _printf(out.body) + " | "
            args += ["--data-binary", "@-"]
    args.append(out.url)
    return pipe + " ".join(shlex.quote(arg) for arg in args)


#: What HTTPie reads as (part of) a separator in a request item; a backslash before one escapes it.
_HTTPIE_SPECIAL = frozenset(":;@=")


def _httpie_header(name: str, value: str) -> str:
    if not value:
        return f"{name};"  # 'Name;' sends an empty value ('Name:' would drop the header)
    if any(value[i] == "\\" and value[i + 1] in _HTTPIE_SPECIAL for i in range(len(value) - 1)):
        raise ValueError(f"HTTPie cannot send the header value {value!r}: a backslash before any of "
                         f"{''.join(sorted(_HTTPIE_SPECIAL))} is read as an escape; to_curl() can")
    # 'Name:=x' would be a JSON field and 'Name:@x' a file: the separator takes the value's first character.
    return f"{name}:\\{value}" if value[0] in "=@" else f"{name}:{value}"


def to_httpie(exchange: Any, base_url: str | httpx.URL | None = None) -> str:
    """The HTTPie (``http``) command that sends the same request (to ``base_url`` instead, when given).

    One difference HTTPie does not let a command undo: under it, requests adds ``Content-Length: 0``
    to a request without a body whose method is not GET, HEAD or OPTIONS.
    """
    out = outgoing(exchange, base_url)
    if not (out.method.isascii() and out.method.isalpha() and out.method.isupper()):
        # HTTPie reads its first argument as the method only when it is letters (else as the URL),
        # and sends it upper-cased.
        raise ValueError(f"HTTPie sends upper-case methods of letters only, not {out.method!r}; "
                         "to_curl() sends any")
    args = ["http"]
    pipe = ""
    if out.body is None:
        args.append("--ignore-stdin")
    elif _is_argument_text(out.body):
        args += ["--ignore-stdin", "--raw", out.body.decode("utf-8")]
    else:
        pipe = _printf(out.body) + " | "
    if any(name.startswith("-") for name, _ in out.headers):
        args.append("--")  # a header item such as '-X:1' would be read as an option
    args += [out.method, out.url]
    for name, value in out.headers:
        args.append(_httpie_header(name, value))
    for name in _missing(HTTPIE_DEFAULTS, out.headers):
        args.append(f"{name}:")  # 'Name:' drops HTTPie's default
    if out.body is not None:
        args += [f"{name}:" for name in _missing(("Content-Type",), out.headers)]
    return pipe + " ".join(shlex.quote(arg) for arg in args)


def to_http(exchange: Any, base_url: str | httpx.URL | None = None) -> str:
    """The ``.http`` text of the request (sent to ``base_url`` instead, when given), which
    ``httpfile.parse`` reads back to the same request. The format has no escapes: what it cannot carry
    (a body that is not text, a ``{{``, a line it would read as something else) is refused by
    ``httpfile.render`` with the reason, rather than written as another request."""
    from .httpfile import HTTPRequestSpec, render

    out = outgoing(exchange, base_url)
    body = None
    if out.body:
        try:
            body = out.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("this request cannot be written as .http text: a body that is not UTF-8 text "
                             "(to_curl() carries any request)") from None
    return render(HTTPRequestSpec(out.method, out.url, list(out.headers), body, http_version="HTTP/1.1"))
