"""Shared fixtures: every async test runs on asyncio and on trio unless it says otherwise."""

from __future__ import annotations

import pytest

from playground._inprocess.app_task import AppTask

pytest_plugins = ["pytester"]  # tests of the pytest plugin run pytest inside a test


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app_tasks(monkeypatch: pytest.MonkeyPatch) -> list[AppTask]:
    """Every app task the client starts during the test."""
    started: list[AppTask] = []
    original = AppTask.start

    def start(self: AppTask) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(AppTask, "start", start)
    return started
