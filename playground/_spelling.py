"""Learner aids for endpoint classes: a handler name that is almost, but not quite, a handler.

``gett``, ``Get``, ``post_`` or ``on_recieve`` is legal Python that Starlette silently never calls;
here the class definition warns and names the fix. Ordinary helper methods stay quiet.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["EndpointWarning", "warn_misspelt_handlers"]


class EndpointWarning(UserWarning):
    """A class definition that is legal Python but probably not what was meant."""


def _edit_distance(a: str, b: str, substitution_cost: int) -> int:
    """Edits (insert, delete, swap two neighbours, replace) that turn ``a`` into ``b``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = current[j - 1] + 1
            replace = previous[j - 1] + (0 if char_a == char_b else substitution_cost)
            cost = min(cost, previous[j] + 1, replace)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _accepts(function: Callable[..., Any], count: int) -> bool:
    """Whether ``function`` can be called with ``count`` positional arguments."""
    try:
        inspect.signature(function).bind(*[None] * count)
    except TypeError:
        return False
    except ValueError:  # no signature to read: give it the benefit of the doubt
        return True
    return True


def _misspelt_handler(name: str, value: Any, handlers: dict[str, int]) -> str | None:
    """The handler ``name`` was probably meant to be, or None when it reads as an ordinary method.

    ``handlers`` maps each handler name to the number of arguments it receives after ``self``.
    """
    if name in handlers or name.startswith("_") or inspect.isclass(value):
        return None
    passed_first = 0 if isinstance(value, staticmethod) else 1  # ``self`` (or ``cls``)
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    if not callable(value):
        return None
    # Only case and stray underscores differ (``Get``, ``post_``): surely meant as the handler.
    bare = name.lower().strip("_")
    if bare in handlers:
        return bare
    # A typo (``gett``, ``on_recieve``) is a near miss that also takes the handler's arguments, so
    # helpers such as ``posts(self)`` or ``header(self, request)`` stay quiet. Short verbs only count
    # inserted, dropped or swapped letters: one replaced letter makes real words (``set``, ``host``).
    for handler, arguments in handlers.items():
        substitution_cost = 1 if len(handler) >= 5 else 2
        allowed = 2 if len(handler) >= 8 else 1
        near = _edit_distance(name.lower(), handler, substitution_cost) <= allowed
        if near and _accepts(value, passed_first + arguments):
            return handler
    return None


def warn_misspelt_handlers(cls: type, handlers: dict[str, int], what: str) -> None:
    """Warn about methods named almost, but not exactly, like a handler (``gett``, ``Get``, ``post_``)."""
    # Point the warning at the class statement, above every ``__init_subclass__`` (a mixin's too).
    stacklevel = 1
    frame = inspect.currentframe()
    here = warn_misspelt_handlers.__code__.co_filename
    while frame is not None and (
        frame.f_code.co_filename == here or frame.f_code.co_name == "__init_subclass__"
    ):
        frame = frame.f_back
        stacklevel += 1
    del frame
    for name, value in vars(cls).items():
        match = _misspelt_handler(name, value, handlers)
        if match is not None:
            warnings.warn(
                f"{cls.__qualname__}.{name} looks like the {what} {match!r} but is not one, "
                f"so it will never be called. Rename it to {match!r}.",
                EndpointWarning,
                stacklevel=stacklevel,
            )
