"""The ASGI words every part of the package uses: what an app is, and the name it goes by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ASGIApp = Callable[..., Any]


def app_name(app: ASGIApp) -> str:
    """How messages and displays name an app: a function's or class's own name, else its type's."""
    return getattr(app, "__qualname__", None) or type(app).__qualname__
