"""The response a request returns: an ``httpx.Response`` that also carries its ASGI trace."""

from __future__ import annotations

from typing import Any

import httpx

from ._private_api import set_read_content
from .trace import Trace

__all__ = ["Response"]


def read_body(response: httpx.Response, body: bytes) -> None:
    """Give a response its whole body, as if it had been streamed and read (decoding gzip and the like)."""
    if "content-encoding" in response.headers:
        response.stream = httpx.ByteStream(body)
        response.read()
    else:
        # What read() leaves behind, without its streaming pipeline: a fifth of a fast request's cost.
        set_read_content(response, body)


class Response(httpx.Response):
    """An ``httpx.Response`` plus what the client saw of the exchange.

    ``trace``: the ASGI messages of the exchange (as the app exchanged them, in-process; as they crossed
    the wire, over the network). In-process only: ``app_exception``: the app's error when it was not
    raised (``raise_app_exceptions=False``); ``early_hints``: links the app sent as 103 Early Hints;
    ``trailers``: trailing headers (the ``http.response.trailers`` extension); ``template`` and
    ``context``: what a template response rendered (the ``http.response.debug`` extension).
    """

    trace: Trace | None = None
    app_exception: BaseException | None = None
    early_hints: list[bytes] = []  # noqa: RUF012 (replaced per instance, never mutated here)
    trailers: list[tuple[bytes, bytes]] = []  # noqa: RUF012
    template: Any = None
    context: Any = None

    def to_curl(self, base_url: str | httpx.URL | None = None) -> str:
        """The ``curl`` command that sends this request again (to ``base_url``, e.g. ``server.url``)."""
        from ._commands import to_curl

        return to_curl(self, base_url)

    def to_httpie(self, base_url: str | httpx.URL | None = None) -> str:
        """The HTTPie command that sends this request again (to ``base_url``, e.g. ``server.url``)."""
        from ._commands import to_httpie

        return to_httpie(self, base_url)

    def to_http(self, base_url: str | httpx.URL | None = None) -> str:
        """This request as ``.http`` text (VS Code REST Client, JetBrains HTTP Client, ``%%http``)."""
        from ._commands import to_http

        return to_http(self, base_url)

    def __repr__(self) -> str:
        target = self.request.url.raw_path.decode("ascii")
        return f"<Response [{self.status_code} {self.reason_phrase}] {self.request.method} {target}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from .display import response_text

        printer.text(response_text(self))

    def _repr_html_(self) -> str:
        from .display import response_html

        return response_html(self)
