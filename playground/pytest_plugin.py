"""playground's pytest plugin, registered as ``pytest11``: ``playground = "playground.pytest_plugin"``.

Every section stays inert unless its own options are given, so installing playground changes no
other test suite. The work is done in the modules each section names; this one only wires hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# -- .http files as tests (playground._http_items): --http-app, --http-base-url, --http-env ---------


def pytest_addoption(parser: Any) -> None:
    from ._http_items import add_options

    add_options(parser)


def pytest_collect_file(file_path: Path, parent: Any) -> Any:
    if file_path.suffix not in (".http", ".rest"):
        return None
    from ._http_items import collect_file

    return collect_file(file_path, parent)


# -- end of .http files ---------------------------------------------------------------------------
