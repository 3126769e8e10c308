"""playground's pytest plugin, registered as the ``pytest11`` entry point ``playground``.

Each section below is one feature, its hooks delegating to the module that implements it; a test
that does not use the feature costs next to nothing.
"""

from __future__ import annotations

import pytest

from . import _pytest_traces

# -- traces report: a failing test's report shows what its playground clients exchanged --------------
# --playground-traces=failed|all|off; the work is in playground/_pytest_traces.py.


def pytest_addoption(parser: pytest.Parser) -> None:
    _pytest_traces.addoption(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _pytest_traces.start(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    _pytest_traces.report(item, report)
    return report


# -- end of traces report ------------------------------------------------------------------------------
