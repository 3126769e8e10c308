"""The JSONPath subset that ``.http`` response references and assertions use: one value, no queries.

::

    $                    the whole document
    $.user.name          a member (letters, digits, _ and -)
    $['a key']           a member by any name ("double quotes" too)
    $.items[0]           an element; negative indexes count from the end ($.items[-1])
    $.length             not special: a member called "length"

Wildcards (``*``), recursive descent (``..``), slices and filters select several values; a reference
or an assertion needs exactly one, so they are refused with a clear error rather than half-supported.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MISSING", "JSONPathError", "find", "steps"]

#: What ``find`` returns when the path leads nowhere in this document.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "nothing", "__bool__": lambda self: False})()

_STEP = re.compile(
    r"""\.(?P<name>[A-Za-z_][\w-]*)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*'(?P<single>(?:[^'\\]|\\.)*)'\s*\]
      | \[\s*"(?P<double>(?:[^"\\]|\\.)*)"\s*\]""",
    re.VERBOSE,
)


class JSONPathError(ValueError):
    """A path outside the subset, or not a path at all."""


def steps(path: str) -> list[str | int]:
    """The member names and indexes of ``path``, in order; ``JSONPathError`` if it is not in the subset."""
    text = path.strip()
    if not text.startswith("$"):
        raise JSONPathError(f"a JSONPath starts with '$', such as $.id or $.items[0], got {path!r}")
    position, result = 1, []
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            rest = text[position:]
            if rest.startswith((".*", "[*", "..")) or "?(" in rest or ":" in rest:
                raise JSONPathError(
                    f"{path!r} selects several values (wildcard, '..', slice or filter); a reference or "
                    "an assertion needs one: name it, such as $.items[0].id"
                )
            raise JSONPathError(f"{path!r} is not a JSONPath this file format reads: at {rest!r}")
        if match.group("index") is not None:
            result.append(int(match.group("index")))
        else:
            quoted = match.group("single") if match.group("single") is not None else match.group("double")
            name = match.group("name") if quoted is None else re.sub(r"\\(.)", r"\1", quoted)
            result.append(name)
        position = match.end()
    return result


def find(document: Any, path: str) -> Any:
    """The value at ``path`` in a decoded JSON document, or ``MISSING``."""
    value = document
    for step in steps(path):
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return MISSING
        elif not isinstance(value, dict) or step not in value:
            return MISSING
        value = value[step]
    return value
