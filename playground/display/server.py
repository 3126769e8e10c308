"""A live server's display: what it serves, where a browser opens it, and whether it runs."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .._asgi import app_name

if TYPE_CHECKING:
    from ..server import Server


def server_text(server: Server) -> str:
    link = server.link
    shown = "" if link.via == "loopback" else f"; in a browser: {link.url} ({link.describe()})"
    return f"<Server {server.url} {server.status}, serving {app_name(server.app)}{shown}>"


def server_html(server: Server) -> str:
    link = server.link
    href = html.escape(link.url)
    colour = "#2e7d32" if server.running else "#757575"
    in_kernel = "" if link.via == "loopback" else f"; in the kernel: <code>{html.escape(server.url)}</code>"
    return (
        f'<div class="playground-server">uvicorn serving <code>{html.escape(app_name(server.app))}</code> at '
        f'<a href="{href}" target="_blank">{href}</a> '
        f'<span style="color: {colour}; font-weight: bold">{html.escape(server.status)}</span> '
        f'<small>({html.escape(link.describe())}{in_kernel})</small></div>'
    )
