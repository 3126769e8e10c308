"""playground's pytest plugin, registered as the ``pytest11`` entry point ``playground``.

Each section below is one feature, its hooks delegating to the module that implements it. Every
section stays inert unless its feature is used (a playground client in the test, or the ``.http``
options given), so installing playground changes no other test suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import _pytest_traces


def pytest_addoption(parser: pytest.Parser) -> None:
    from ._httpfile.pytest_items import add_options

    _pytest_traces.addoption(parser)
    add_options(parser)


# -- traces report: a failing test's report shows what its playground clients exchanged --------------
# --playground-traces=failed|all|off; the work is in playground/_pytest_traces.py.


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _pytest_traces.start(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    _pytest_traces.report(item, report)
    return report


# -- .http files as tests: --http-app, --http-base-url, --http-env; the work is in playground/_httpfile/pytest_items.py


def pytest_collect_file(file_path: Path, parent: Any) -> Any:
    if file_path.suffix not in (".http", ".rest"):
        return None
    from ._httpfile.pytest_items import collect_file

    return collect_file(file_path, parent)
