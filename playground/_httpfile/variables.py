"""What ``{{...}}`` stands for in a ``.http`` text, resolved when a request is about to be sent.

In this order: ``{{$system}}`` variables; file variables (``@name = value``, file-wide, their values
may use other variables); the variables given to the run (keyword arguments, or a notebook's names);
the selected environment (``environments``); and references to an earlier request of the file,
``{{login.response.body.$.token}}``. ``{{%name}}`` is any of these, URL-encoded.
"""

from __future__ import annotations

import calendar
import json
import os
import random
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..httpfile import VARIABLE_USE, HTTPFile, HTTPFileError, Piece

__all__ = ["SYSTEM_VARIABLES", "Variables"]

REFERENCE = re.compile(r"^([^.\s{}]+)\.(request|response)\.(body|headers)(?:\.(.*))?$")
OFFSET_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: dayjs' format tokens, which REST Client's {{$datetime "..."}} uses; longest first.
DATE_TOKENS = re.compile(r"\[([^\]]*)\]|YYYY|YY|SSS|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|A|a|ZZ|Z")
SYSTEM_VARIABLES = ("$guid", "$uuid", "$random.uuid", "$randomInt", "$timestamp", "$isoTimestamp", "$datetime",
                    "$localDatetime", "$processEnv", "$dotenv")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Variables:
    """Resolves ``{{...}}`` for one run of one file; ``substitute(piece)`` is what ``resolve`` calls."""

    def __init__(
        self,
        file: HTTPFile,
        *,
        given: Mapping[str, Any] | None = None,
        environment: Mapping[str, str] | None = None,
        exchanges: Mapping[str, Any] | None = None,
        now: Callable[[], datetime] = _utc_now,
        rng: random.Random | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.file = file
        self.given = given or {}
        self.environment = environment or {}
        #: name -> the Response (or WebSocketSession) of each named request that has run
        self.exchanges = exchanges if exchanges is not None else {}
        self.request_lines = {t.name: t.line_number for t in file.requests if t.name}
        self.now = now
        self.random = rng or random.Random()
        self.environ = os.environ if environ is None else environ
        self._dotenv: dict[str, str] | None = None

    def substitute(self, piece: Piece) -> str:
        return self._substitute(piece.text, piece.line_number, (), piece.line_number)

    def _substitute(self, text: str, line: int, stack: tuple[str, ...], origin: int) -> str:
        return VARIABLE_USE.sub(lambda match: self.value(match.group(1), line, stack, origin), text)

    def error(self, message: str, line: int) -> HTTPFileError:
        return self.file.error(message, line)

    def value(self, expression: str, line: int, stack: tuple[str, ...] = (), origin: int | None = None) -> str:
        """The text of one ``{{expression}}`` on ``line``; ``origin``: the line of the request being sent."""
        origin = line if origin is None else origin
        if expression.startswith("%"):
            return quote(self.value(expression[1:].strip(), line, stack, origin), safe="")
        if expression.startswith("$"):
            return self.system(expression, line)
        if expression in self.file.variables:
            return self.nested(expression, self.file.variables[expression], line, stack, origin)
        if expression in self.given:
            return str(self.given[expression])
        if expression in self.environment:
            return self.nested(expression, Piece(str(self.environment[expression]), line), line, stack, origin)
        reference = REFERENCE.match(expression)
        if reference and reference.group(1) in self.request_lines:
            return self.reference(*reference.groups(), line=line, origin=origin)
        if reference:
            raise self.error(f"{{{{{expression}}}}} refers to a request named {reference.group(1)!r}, and no "
                             "request has that name; name one with '# @name " f"{reference.group(1)}'", line)
        raise self.error(
            f"variable {{{{{expression}}}}} is not defined; define it with '@{expression} = value', pass it "
            "to the run, or put it in the environment file", line
        )

    def nested(self, name: str, piece: Piece, line: int, stack: tuple[str, ...], origin: int) -> str:
        if name in stack:
            chain = " -> ".join(f"@{n}" for n in (*stack[stack.index(name):], name))
            raise self.error(f"the variables refer to each other in a circle: {chain}", line)
        try:
            return self._substitute(piece.text, piece.line_number, (*stack, name), origin)
        except HTTPFileError as exc:
            if stack or exc.line_number == line:
                raise
            # The mistake is in a definition; say which line needed it as well.
            raise HTTPFileError(f"{exc.message} (reached from line {line})", exc.line_number, exc.line,
                                exc.path) from None

    # -- references to earlier requests -------------------------------------------------------------

    def reference(self, name: str, part: str, kind: str, rest: str | None, *, line: int, origin: int) -> str:
        where = self.request_lines[name]
        if name not in self.exchanges:
            if where >= origin:
                raise self.error(f"request {name!r} is on line {where}, below this one; a reference needs the "
                                 "request to have run first", line)
            raise self.error(f"request {name!r} (line {where}) has not run: it failed, or only part of the "
                             "file ran", line)
        exchange = self.exchanges[name]
        if not hasattr(exchange, "status_code"):
            raise self.error(f"{name!r} is a WEBSOCKET request: it has no {part} {kind} to refer to", line)
        message = exchange if part == "response" else exchange.request
        if kind == "headers":
            if not rest:
                raise self.error(f"name the header: {{{{{name}.{part}.headers.Location}}}}", line)
            value = message.headers.get(rest)
            if value is None:
                known = ", ".join(sorted(message.headers.keys())) or "none"
                raise self.error(f"the {part} of {name!r} has no header {rest!r} (it has: {known})", line)
            return value
        text = exchange.text if part == "response" else message.content.decode("utf-8", "replace")
        if rest is None or rest == "*":
            return text
        if rest.startswith("/"):
            raise self.error("XPath is not supported; refer to JSON bodies with a JSONPath such as $.id", line)
        from .jsonpath import MISSING, JSONPathError, find

        try:
            document = json.loads(text)
        except ValueError:
            kind_of = message.headers.get("content-type", "no content-type")
            raise self.error(f"the {part} body of {name!r} is not JSON ({kind_of}), so {rest!r} finds nothing; "
                             f"{{{{{name}.{part}.body.*}}}} is the whole body", line) from None
        try:
            value = find(document, rest)
        except JSONPathError as exc:
            raise self.error(str(exc), line) from None
        if value is MISSING:
            raise self.error(f"{rest} is not in the {part} body of {name!r}: {shorten(text)}", line)
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    # -- system variables ---------------------------------------------------------------------------

    def system(self, expression: str, line: int) -> str:
        name, _, args_text = expression.partition(" ")
        args = _words(args_text)
        if name in ("$guid", "$uuid", "$random.uuid") and not args:
            return str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        if name == "$randomInt":
            return self.random_int(args, line)
        if name == "$timestamp":
            return str(int(self.shifted(self.now(), args, line).timestamp()))
        if name == "$isoTimestamp" and not args:
            return _iso(self.now().astimezone(UTC))
        if name in ("$datetime", "$localDatetime"):
            return self.datetime(name, args, line)
        if name == "$processEnv" and len(args) == 1:
            return self.process_env(args[0], line)
        if name == "$dotenv" and len(args) == 1:
            return self.dotenv(args[0], line)
        if name in ("$aadToken", "$aadV2Token", "$oidcAccessToken"):
            raise self.error(f"{{{{{name}}}}} signs in to a provider, which cannot happen here; pass the token "
                             "as a variable (run_http(..., token=...)) or put it in the environment file", line)
        if name in SYSTEM_VARIABLES:
            raise self.error(f"{{{{{expression}}}}}: wrong arguments; see the syntax table for {name}", line)
        raise self.error(f"unknown system variable {{{{{name}}}}}; known: {', '.join(SYSTEM_VARIABLES)}", line)

    def random_int(self, args: list[str], line: int) -> str:
        if not args:
            return str(self.random.randrange(0, 1000))
        if len(args) == 2 and all(re.fullmatch(r"-?\d+", a) for a in args) and int(args[0]) < int(args[1]):
            return str(self.random.randrange(int(args[0]), int(args[1])))  # the maximum is left out
        raise self.error("{{$randomInt MIN MAX}} takes two integers, MIN below MAX (MAX is left out)", line)

    def shifted(self, moment: datetime, args: list[str], line: int) -> datetime:
        if not args:
            return moment
        if len(args) != 2 or not re.fullmatch(r"[-+]?\d+", args[0]) or args[1] not in (*OFFSET_UNITS, "y", "M"):
            raise self.error("an offset is a number and a unit, such as '-1 d': y, M, w, d, h, m, s or ms", line)
        amount = int(args[0])
        if args[1] in ("y", "M"):
            return _add_months(moment, amount * (12 if args[1] == "y" else 1))
        return moment + timedelta(**{OFFSET_UNITS[args[1]]: amount})

    def datetime(self, name: str, args: list[str], line: int) -> str:
        if not args:
            raise self.error(f"{{{{{name} FORMAT}}}} needs a format: rfc1123, iso8601 or a quoted pattern", line)
        moment = self.now()
        moment = moment.astimezone(UTC) if name == "$datetime" else moment.astimezone()
        moment = self.shifted(moment, args[1:], line)
        fmt = args[0]
        if fmt == "rfc1123":
            zone = "GMT" if name == "$datetime" else moment.strftime("%z")
            return moment.strftime(f"%a, %d %b %Y %H:%M:%S {zone}")
        if fmt == "iso8601":
            return _iso(moment) if name == "$datetime" else moment.isoformat(timespec="seconds")
        if fmt[:1] in ("'", '"') and fmt[-1:] == fmt[:1] and len(fmt) > 1:
            return _dayjs(moment, fmt[1:-1])
        raise self.error(f"unknown date format {fmt!r}: rfc1123, iso8601 or a quoted pattern such as "
                         '"YYYY-MM-DD"', line)

    def process_env(self, name: str, line: int) -> str:
        name = self.indirect(name, line)
        if name not in self.environ:
            raise self.error(f"the process has no environment variable {name!r}", line)
        return self.environ[name]

    def dotenv(self, name: str, line: int) -> str:
        name = self.indirect(name, line)
        if self._dotenv is None:
            from .environments import read_dotenv

            self._dotenv = read_dotenv(self.file.base_dir / ".env")
        if name not in self._dotenv:
            raise self.error(f"{name!r} is not in {str(self.file.base_dir / '.env')!r}", line)
        return self._dotenv[name]

    def indirect(self, name: str, line: int) -> str:
        """``%NAME``: the name itself comes from the environment (REST Client's indirection)."""
        if not name.startswith("%"):
            return name
        if name[1:] not in self.environment:
            raise self.error(f"{name}: {name[1:]!r} is not in the selected environment", line)
        return str(self.environment[name[1:]])


def _words(text: str) -> list[str]:
    return re.findall(r"'[^']*'|\"[^\"]*\"|\S+", text)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _dayjs(moment: datetime, pattern: str) -> str:
    offset = moment.strftime("%z") or "+0000"

    def token(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        hour12 = moment.hour % 12 or 12
        return {
            "YYYY": f"{moment.year:04d}", "YY": f"{moment.year % 100:02d}", "MM": f"{moment.month:02d}",
            "M": str(moment.month), "DD": f"{moment.day:02d}", "D": str(moment.day), "HH": f"{moment.hour:02d}",
            "H": str(moment.hour), "hh": f"{hour12:02d}", "h": str(hour12), "mm": f"{moment.minute:02d}",
            "m": str(moment.minute), "ss": f"{moment.second:02d}", "s": str(moment.second),
            "SSS": f"{moment.microsecond // 1000:03d}", "A": "AM" if moment.hour < 12 else "PM",
            "a": "am" if moment.hour < 12 else "pm", "ZZ": offset, "Z": f"{offset[:3]}:{offset[3:]}",
        }[match.group()]

    return DATE_TOKENS.sub(token, pattern)


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
