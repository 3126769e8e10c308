"""A request as ``.http`` text, the format VS Code REST Client and JetBrains HTTP Client read.

The text is what ``httpfile.parse`` reads back to the same request: the request line with the full
URL and ``HTTP/1.1``, every header the client sent but Host and Content-Length (they follow from the
URL and the body), a blank line, the body. The format has no escapes, so what it cannot carry is
refused with the reason (a body that is not text, ends with a line break, holds ``{{``, ...), rather
than written as a different request: ``to_curl()`` carries any request.
"""

from __future__ import annotations

from typing import Any

import httpx

from .commands import outgoing

__all__ = ["to_http"]

# What str.splitlines() (and so the parser) breaks a line at, besides "\n".
_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _refuse(what: str) -> ValueError:
    return ValueError(f"a .http file cannot carry {what}; to_curl() can")


def _check_text(text: str, where: str) -> None:
    if "{{" in text:
        raise _refuse(f"'{{{{' in the {where} (it would be read as a variable)")
    if any(char in text for char in _LINE_BREAKS):
        raise _refuse(f"a line break other than \\n in the {where}")


def to_http(exchange: Any, base_url: str | httpx.URL | None = None) -> str:
    """The ``.http`` text of the request (sent to ``base_url`` instead, when given)."""
    out = outgoing(exchange, base_url)
    if not out.method.isupper() or not out.method[:1].isalpha() or out.method == "WEBSOCKET":
        raise _refuse(f"the method {out.method!r} (methods there are upper-case words)")
    _check_text(out.url, "URL")
    lines = [f"{out.method} {out.url} HTTP/1.1"]
    for name, value in out.headers:
        if name.startswith("#"):
            raise _refuse(f"the header {name!r} (a line starting with # is a comment)")
        if value != value.strip() or "\n" in value:
            raise _refuse(f"the header value {value!r} (values are read without surrounding spaces)")
        _check_text(value, f"header {name!r}")
        lines.append(f"{name}: {value}" if value else f"{name}:")
    if out.body:
        try:
            body = out.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse("a body that is not UTF-8 text") from None
        if "\x00" in body:
            raise _refuse("a body with a NUL byte")
        _check_text(body, "body")
        body_lines = body.split("\n")
        if not body_lines[-1].strip():
            raise _refuse("a body that ends with a line break or spaces (they are trimmed when read)")
        if body_lines[0].startswith("<") and body_lines[0][1:2].isspace():
            raise _refuse("a body that starts with '< ' (it would be read as a file to send)")
        if any(line.startswith("###") for line in body_lines):
            raise _refuse("a body line starting with ### (it starts the next request)")
        lines += ["", body]
    return "\n".join(lines) + "\n"
