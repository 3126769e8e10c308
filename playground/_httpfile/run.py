"""Running a ``.http`` file (or text) through a ``Client``: every request in order, then its assertions.

``HTTPRun`` resolves each request just before sending it, so ``{{login.response.body.$.token}}``
sees the login that ran above. It keeps going after a failed assertion, as the editors do; a request
that cannot be resolved or sent raises, naming the file and the line. ``Exchanges`` is what a run
returns: the responses and sessions, in order, with each one's assertion outcomes beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..httpfile import HTTPFile, HTTPFileError, HTTPRequestSpec, RequestTemplate, parse_file, resolve
from .assertions import Outcome, check
from .variables import Variables

if TYPE_CHECKING:
    from ..client import Client
    from ..response import Response
    from ..websocket import WebSocketSession

__all__ = ["Exchanges", "HTTPAssertionError", "HTTPRun", "Step", "load", "run_http"]

FILE_SUFFIXES = (".http", ".rest")


@dataclass
class Step:
    """One request of a run: where it is in the file, what came back, how its assertions went."""

    template: RequestTemplate
    result: Response | WebSocketSession
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]

    @property
    def passed(self) -> bool:
        return not self.failures


class HTTPAssertionError(AssertionError):
    """Assertions of a ``.http`` file failed; the message names the file, the lines, expected and actual."""

    def __init__(self, failures: list[Outcome], path: str | None = None) -> None:
        self.failures = failures
        self.path = path
        lines = [outcome.describe(path) for outcome in failures]
        count = f"{len(failures)} assertion{'s' if len(failures) != 1 else ''} failed"
        super().__init__(count + ":\n" + "\n".join(lines) if len(lines) > 1 else lines[0])


class Exchanges(list):  # type: ignore[type-arg]
    """The responses and sessions of a run, in order; ``steps`` has each one's assertions beside it."""

    def __init__(self, steps: list[Step], path: str | None = None) -> None:
        super().__init__(step.result for step in steps)
        self.steps = steps
        self.path = path

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for step in self.steps for outcome in step.outcomes]

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for step in self.steps for outcome in step.failures]

    @property
    def passed(self) -> bool:
        return not self.failures

    def check(self) -> Exchanges:
        """Raise ``HTTPAssertionError`` if an assertion failed; else return the exchanges themselves."""
        if self.failures:
            raise HTTPAssertionError(self.failures, self.path)
        return self

    def __repr__(self) -> str:
        verdict = f", {len(self.outcomes) - len(self.failures)}/{len(self.outcomes)} assertions passed"
        return f"<Exchanges: {len(self)} requests{verdict if self.outcomes else ''}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(exchanges_text(self))

    def _repr_html_(self) -> str:
        return exchanges_html(self)


# -- running --------------------------------------------------------------------------------------


def load(source: str | Path, *, base_dir: str | Path | None = None) -> HTTPFile:
    """A ``.http`` file or text, parsed. A file is a ``Path``, or a one-line string that names an
    existing file or ends with ``.http``/``.rest`` without a space; any other string is the text."""
    is_path = isinstance(source, Path) or (
        "\n" not in source and (Path(source).is_file() or (source.endswith(FILE_SUFFIXES) and " " not in source))
    )
    if not is_path:
        return parse_file(str(source), base_dir=base_dir)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileNotFoundError(f"cannot read the .http file {str(path)!r}: {exc.strerror}") from None
    return parse_file(text, path=str(source), base_dir=base_dir if base_dir is not None else path.parent)


class HTTPRun:
    """One run of one file through one client; ``await run.send(template)`` for each request in order."""

    def __init__(
        self, client: Client, file: HTTPFile, *, variables: Mapping[str, Any] | None = None, env: str | None = None,
    ) -> None:
        from .environments import load_environment

        self.client = client
        self.file = file
        self.variables = Variables(file, given=variables, environment=load_environment(file.base_dir, env))
        self.steps: list[Step] = []

    async def send(self, template: RequestTemplate) -> Step:
        __tracebackhide__ = True
        from .conversation import converse

        spec = resolve(self.file, template, self.variables.substitute)
        options: dict[str, Any] = {}
        if template.timeout is not None:
            options["timeout"] = template.timeout
        result: Response | WebSocketSession
        if isinstance(spec, HTTPRequestSpec):
            if template.follow_redirects is not None:
                options["follow_redirects"] = template.follow_redirects
            content = spec.body.encode("utf-8") if spec.body is not None else None
            result = await self.client.request(spec.method, spec.url, headers=spec.headers, content=content,
                                               **options)
        else:
            headers = [(n, v) for n, v in spec.headers if n.lower() != "sec-websocket-protocol"]
            checks_close = any(assertion.subject == "close" for assertion in template.assertions)
            result = await converse(self.client, spec.url, spec.steps, headers, spec.subprotocols,
                                    denial_is_a_result=checks_close, **options)
        if template.name:
            self.variables.exchanges[template.name] = result
        try:
            outcomes = [check(assertion, result, self.variables.substitute) for assertion in template.assertions]
        except HTTPFileError as exc:  # an expected value with a {{...}} that cannot be resolved
            raise exc.with_traceback(None) from None
        step = Step(template, result, outcomes)
        self.steps.append(step)
        return step

    async def run(self) -> Exchanges:
        __tracebackhide__ = True
        for template in self.file.requests:
            try:
                await self.send(template)
            except HTTPFileError as exc:
                exc.exchanges = Exchanges(self.steps, self.file.path)  # type: ignore[attr-defined]
                raise
        return Exchanges(self.steps, self.file.path)


async def run_http(
    client: Client, source: str | Path, *, env: str | None = None, variables: Mapping[str, Any] | None = None,
    base_dir: str | Path | None = None,
) -> Exchanges:
    """Run every request of a ``.http`` file or text through ``client``; the ``Exchanges``."""
    __tracebackhide__ = True
    return await HTTPRun(client, load(source, base_dir=base_dir), variables=variables, env=env).run()


# -- displays -------------------------------------------------------------------------------------


def _item_text(item: Any) -> str:
    from ..display.text import response_text, session_text

    return response_text(item) if hasattr(item, "status_code") else session_text(item)


def _mark(outcome: Outcome) -> str:
    return "✓" if outcome.passed else "✗"


def outcome_line(outcome: Outcome) -> str:
    tail = "" if outcome.passed else f"  — {outcome.why}"
    return f"{_mark(outcome)} line {outcome.line_number}: ?? {outcome.assertion.source}{tail}"


def exchanges_text(exchanges: Exchanges) -> str:
    # Without assertions, the exchanges one after the other, as each shows itself; with them, a
    # heading per request so that each outcome sits beside its exchange.
    if not exchanges.outcomes:
        return "\n\n".join(_item_text(item) for item in exchanges)
    parts = []
    for step in exchanges.steps:
        lines = [f"### {step.template.title}" + (f"  (line {step.template.line_number})"
                                                 if step.template.name else ""), _item_text(step.result)]
        lines.extend(outcome_line(outcome) for outcome in step.outcomes)
        parts.append("\n".join(lines))
    parts.append(_verdict(exchanges))
    return "\n\n".join(parts)


def _verdict(exchanges: Exchanges) -> str:
    total, failed = len(exchanges.outcomes), len(exchanges.failures)
    return f"{total - failed} of {total} assertions passed" + (f", {failed} failed" if failed else "")


def exchanges_html(exchanges: Exchanges) -> str:
    from html import escape

    from ..display.html import BOX, HEAD, MUTED, STATUS_COLOURS, badge

    if not exchanges.outcomes:
        return "".join(item._repr_html_() for item in exchanges)
    green, red = STATUS_COLOURS["success"], STATUS_COLOURS["server-error"]
    parts = []
    for step in exchanges.steps:
        where = f' <small style="{MUTED}">line {step.template.line_number}</small>' if step.template.name else ""
        items = "".join(
            f'<li style="margin:1px 0">{badge(_mark(o), green if o.passed else red)} '
            f'<small style="{MUTED}">line {o.line_number}</small> <code>?? {escape(o.assertion.source)}</code>'
            + ("" if o.passed else f" — {escape(o.why)}") + "</li>"
            for o in step.outcomes
        )
        outcomes = f'<ul style="list-style:none;padding-left:0;margin:2px 0">{items}</ul>' if items else ""
        parts.append(f'<div class="pg-display pg-http-step" style="margin:6px 0">'
                     f'<div style="{HEAD}">{escape(step.template.title)}{where}</div>'
                     f"{step.result._repr_html_()}{outcomes}</div>")
    colour = green if exchanges.passed else red
    parts.append(f'<div class="pg-display pg-box" style="{BOX};border-color:rgba({colour},.6)">'
                 f"{escape(_verdict(exchanges))}</div>")
    return "".join(parts)
