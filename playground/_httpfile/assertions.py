"""Checking a ``?? ...`` assertion of a ``.http`` file against the exchange it follows.

``?? SUBJECT [ARGUMENT] PREDICATE [EXPECTED]``, the subset of httpyac's syntax this project reads:

- subjects: ``status``; ``header NAME``; ``body`` (the whole text) or ``body $.json.path``; for a
  WEBSOCKET request ``message N`` (the Nth message from the app, from 1) or ``message N $.path``,
  and ``close`` (the close code);
- predicates: ``== != < <= > >=``, ``includes`` (alias ``contains``), ``startsWith``, ``endsWith``,
  ``matches`` (a Python regular expression, searched), ``exists`` (takes no value);
- the expected value may use ``{{...}}``. Against a text (a header, a body, a JSON string) it is
  text, as written (in double quotes for outer spaces: ``"  x "``); against a number, a number;
  against ``true``/``false``/``null``/a list/an object, JSON. ``< <= > >=`` compare numbers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..httpfile import Assertion, Piece
from .jsonpath import MISSING, find

__all__ = ["Outcome", "check"]


@dataclass
class Outcome:
    """How one assertion went: what it found (``actual``) and what it wanted (``expected``)."""

    assertion: Assertion
    passed: bool
    actual: Any
    expected: Any
    why: str = ""  # for a failure: "expected 200, got 401"

    @property
    def line_number(self) -> int:
        return self.assertion.line_number

    def describe(self, path: str | None = None) -> str:
        where = f"{path}, line {self.line_number}" if path else f"line {self.line_number}"
        verdict = "passed" if self.passed else f"failed: {self.why}"
        return f"{where}: ?? {self.assertion.source}: {verdict}"


def show(value: Any) -> str:
    if value is MISSING:
        return "nothing"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (bool, list, dict, type(None))) else str(value)


def _app_messages(session: Any) -> list[Any]:
    return [line.data for line in session.transcript if line.sender == "app" and line.kind in ("text", "bytes")]


def _json_at(text: Any, path: str) -> tuple[Any, str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return MISSING, " (not JSON)"
    value = find(document, path)
    return value, "" if value is not MISSING else f" ({path} is not there)"


def actual_value(assertion: Assertion, result: Any) -> tuple[Any, str]:
    """What the assertion looks at in this exchange, and a note when there is nothing."""
    subject, argument = assertion.subject, assertion.argument
    if subject == "status":
        return result.status_code, ""
    if subject == "header":
        value = result.headers.get(argument)
        return (MISSING, f" (no {argument} header)") if value is None else (value, "")
    if subject == "body":
        return (result.text, "") if argument is None else _json_at(result.text, argument)
    if subject == "close":
        return result.close_code, ""
    number, _, path = (argument or "").partition(" ")
    received = _app_messages(result)
    if int(number) > len(received):
        return MISSING, f" (the app sent {len(received)} message{'s' if len(received) != 1 else ''})"
    message = received[int(number) - 1]
    return _json_at(message, path.strip()) if path.strip() else (message, "")


def _expected_for(actual: Any, text: str) -> Any:
    """The expected value as the actual one's type reads it (see the module's docstring)."""
    if isinstance(actual, (str, bytes)) or actual is MISSING:
        if len(text) > 1 and text[0] == text[-1] == '"':
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(predicate: str, actual: Any, expected: Any) -> tuple[bool, str]:
    if isinstance(actual, bytes):
        actual = actual.decode("utf-8", "replace")
    if predicate == "exists":
        return actual is not MISSING, "expected it to exist, got nothing"
    if actual is MISSING:
        return False, f"expected {_wanted(predicate, expected)}, got nothing"
    if predicate in ("==", "!="):
        if _number(actual) and _number(expected):
            equal = actual == expected
        else:  # true is not 1, "3" is not 3
            equal = type(actual) is type(expected) and actual == expected
        return equal == (predicate == "=="), f"expected {_wanted(predicate, expected)}, got {show(actual)}"
    if predicate in ("<", "<=", ">", ">="):
        if not (_number(actual) and _number(expected)):
            return False, f"'{predicate}' compares numbers; got {show(actual)} and {show(expected)}"
        ok = {"<": actual < expected, "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected}
        return ok[predicate], f"expected {_wanted(predicate, expected)}, got {show(actual)}"
    wanted = f"expected {_wanted(predicate, expected)}, got {show(actual)}"
    if predicate in ("includes", "contains"):
        if isinstance(actual, str):
            return str(expected) in actual, wanted
        if isinstance(actual, (list, dict)):
            return expected in actual, wanted
        return False, wanted
    text = actual if isinstance(actual, str) else show(actual)
    if predicate == "startsWith":
        return text.startswith(str(expected)), wanted
    if predicate == "endsWith":
        return text.endswith(str(expected)), wanted
    try:
        return re.search(str(expected), text) is not None, wanted
    except re.error as exc:
        return False, f"{show(expected)} is not a regular expression: {exc}"


def _wanted(predicate: str, expected: Any) -> str:
    if predicate == "==":
        return show(expected)
    if predicate == "!=":
        return f"anything but {show(expected)}"
    if predicate in ("<", "<=", ">", ">="):
        return f"a number {predicate} {show(expected)}"
    return {"includes": "a value that includes", "contains": "a value that contains",
            "startsWith": "a value that starts with", "endsWith": "a value that ends with",
            "matches": "a value that matches"}[predicate] + f" {show(expected)}"


def check(assertion: Assertion, result: Any, substitute: Any) -> Outcome:
    """Evaluate one assertion; ``substitute`` resolves ``{{...}}`` in the expected value."""
    actual, note = actual_value(assertion, result)
    expected_text = substitute(assertion.expected) if isinstance(assertion.expected, Piece) else None
    expected = _expected_for(actual, expected_text) if expected_text is not None else None
    passed, why = _compare(assertion.predicate, actual, expected)
    return Outcome(assertion, passed, actual, expected, "" if passed else why + note)
