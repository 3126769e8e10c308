"""IPython's InteractiveShell with the playground extension loaded, and a cell run as ipykernel runs one:
for the tests of the magics, on the test's own event loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def playground_shell(**user_ns: Any) -> Iterator[Any]:
    """The shell, ``%load_ext playground`` done and ``user_ns`` in its namespace; unloaded after."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.autoawait = True
    shell.user_ns.update(user_ns)
    shell.run_cell("%load_ext playground", store_history=False).raise_error()
    yield shell
    shell.run_cell("%unload_ext playground", store_history=False).raise_error()


async def run(shell: Any, cell: str) -> Any:
    """Run a cell the way ipykernel does: transform, then run_cell_async on the running loop."""
    transformed = shell.transform_cell(cell)
    assert shell.should_run_async(cell, transformed_cell=transformed)
    result = await shell.run_cell_async(cell, store_history=True, transformed_cell=transformed)
    result.raise_error()
    return result.result
