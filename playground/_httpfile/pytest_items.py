"""``.http`` files as pytest tests: each request an item, run in order within its file.

::

    pytest --http-app=package.module:app tests/api.http     # the app in-process
    pytest --http-base-url=http://127.0.0.1:8000 tests/     # the same files against a live server
    pytest --http-app=... --http-env=dev tests/api.http      # an environment of http-client.env.json

Without ``--http-app`` or ``--http-base-url`` nothing here happens: ``.http`` files are not collected.
An item is named after its request (``# @name login`` or ``### login``), else its line (``line 12``).
It fails when an assertion fails, when a ``{{...}}`` cannot be resolved, when the app raises
(in-process) or times out, or on a 5xx response that no ``?? status`` assertion expects; the report
shows the exchange. One client (and, in-process, one run of the app's lifespan) serves a whole file,
on one event loop, so cookies and ``{{login.response...}}`` carry from one request to the next.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from ..httpfile import HTTPFile, HTTPFileError, RequestTemplate, parse_file
from .run import FILE_SUFFIXES, HTTPAssertionError, HTTPRun, Step, exchanges_text

__all__ = ["add_options", "collect_file"]


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("http-files", "playground: .http files as tests")
    group.addoption("--http-app", metavar="MODULE:APP", default=None,
                    help="collect .http files and run their requests against this ASGI app, in-process "
                         "(such as package.module:app; the current directory is importable)")
    group.addoption("--http-base-url", metavar="URL", default=None,
                    help="collect .http files and run their requests against the server at URL")
    group.addoption("--http-env", metavar="NAME", default=None,
                    help="the environment of http-client.env.json or .vscode/settings.json to use")


def _target(config: pytest.Config) -> tuple[str, str] | None:
    app, base_url = config.getoption("http_app"), config.getoption("http_base_url")
    if app and base_url:
        raise pytest.UsageError("give --http-app (in-process) or --http-base-url (a live server), not both")
    if app:
        return "app", app
    if base_url:
        return "url", base_url
    return None


def collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in FILE_SUFFIXES or _target(parent.config) is None:
        return None
    return HTTPFileCollector.from_parent(parent, path=file_path)


def load_app(spec: str, directory: Path) -> Any:
    """``package.module:app`` (``app`` may be dotted: ``module:factory.app``), as uvicorn reads it."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError(f"--http-app takes MODULE:APP, such as package.module:app; got {spec!r}")
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise pytest.UsageError(f"--http-app {spec}: cannot import {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise pytest.UsageError(f"--http-app {spec}: {module_name!r} has no {attribute!r}") from None
    return found


class HTTPServerError(Exception):
    """A 5xx response that no assertion expected."""


class HTTPFileCollector(pytest.File):
    """One ``.http`` file: its requests, and the client and event loop they share."""

    http_file: HTTPFile
    run: HTTPRun | None = None
    runner: asyncio.Runner | None = None

    def collect(self) -> Any:
        shown = self.path.relative_to(self.config.rootpath) if self.path.is_relative_to(self.config.rootpath) \
            else self.path
        try:
            self.http_file = parse_file(self.path.read_text(encoding="utf-8"), path=str(shown),
                                        base_dir=self.path.parent)
        except HTTPFileError as exc:
            raise self.CollectError(str(exc)) from None
        for template in self.http_file.requests:
            yield HTTPItem.from_parent(self, name=template.title.replace("::", ":"), template=template)

    def setup(self) -> None:
        from ..client import Client

        kind, value = _target(self.config)  # type: ignore[misc]
        target = load_app(value, self.config.invocation_params.dir) if kind == "app" else value
        self.runner = asyncio.Runner()
        # The app's exception comes back on a 500 response, so a failure can show the exchange too.
        client = Client(target, raise_app_exceptions=False) if kind == "app" else Client(target)
        if kind == "app":
            self.runner.run(client.startup())  # the app's lifespan, for the whole file
        self.run = HTTPRun(client, self.http_file, env=self.config.getoption("http_env"))

    def teardown(self) -> None:
        if self.runner is None:
            return
        try:
            if self.run is not None:
                self.runner.run(self.run.client.aclose())
        finally:
            self.runner.close()
            self.runner = self.run = None


class HTTPItem(pytest.Item):
    """One request of a ``.http`` file, with its assertions."""

    def __init__(self, *, template: RequestTemplate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.template = template
        self.step: Step | None = None

    def runtest(self) -> None:
        collector = self.parent
        assert isinstance(collector, HTTPFileCollector) and collector.runner and collector.run
        self.step = step = collector.runner.run(collector.run.send(self.template))
        error = getattr(step.result, "app_exception", None)
        if error is not None:
            raise error
        if step.failures:
            raise HTTPAssertionError(step.failures, collector.http_file.path)
        status = getattr(step.result, "status_code", 0)
        if status >= 500 and not any(a.subject == "status" for a in self.template.assertions):
            raise HTTPServerError(f"{collector.http_file.path}, line {self.template.line_number}: the server "
                                  f"answered {status} {step.result.reason_phrase}; if that is expected, say so "
                                  f"with '?? status == {status}'")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (HTTPAssertionError, HTTPFileError, HTTPServerError)):
            message: Any = str(excinfo.value)
        else:  # the app's own error, with its traceback from this item down (not pytest's frames above)
            excinfo.traceback = excinfo.traceback.cut(path=Path(__file__))
            error = excinfo.value
            message = f"the app raised {type(error).__name__}: {error}\n\n{super().repr_failure(excinfo, style=style)}"
        if self.step is None:
            return message
        from .run import Exchanges

        return f"{message}\n\nthe exchange:\n{exchanges_text(Exchanges([self.step]))}"

    def reportinfo(self) -> tuple[Path, int, str]:
        request = f"{self.template.method} {self.template.url[0].text}"
        title = f"{self.template.name}: {request}" if self.template.name else request
        return self.path, self.template.line_number - 1, title
