"""The live server is uvicorn, which runs on asyncio only (as does Playwright's async API): every async test
here does too."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
