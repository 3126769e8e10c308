"""A real IPython kernel (ipykernel) for tests whose cells must run where a notebook's do: the kernel's
own event loop already running, top-level ``await``. Each cell fails the test with its own traceback."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 60


class Kernel:
    """A running ipykernel and a blocking client to it."""

    def __init__(self) -> None:
        from jupyter_client.manager import KernelManager  # comes with ipykernel

        # "python3" is ipykernel's spec; jupyter_client runs it with this interpreter (the venv's).
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(REPO))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=CELL_TIMEOUT)

    def run(self, code: str) -> str:
        """Execute one cell; its stdout, or a failure carrying the cell's error and traceback."""
        outputs: list[str] = []
        errors: list[dict[str, Any]] = []

        def collect(message: dict[str, Any]) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                outputs.append(content["text"])
            elif kind == "error":
                errors.append(content)

        reply = self.client.execute_interactive(
            textwrap.dedent(code), timeout=CELL_TIMEOUT, output_hook=collect, store_history=False
        )
        if reply["content"]["status"] != "ok" or errors:
            error = errors[0] if errors else reply["content"]
            tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.get("traceback", [])))
            pytest.fail(f"cell raised {error.get('ename')}: {error.get('evalue')}\n{tb}", pytrace=False)
        return "".join(outputs)

    def run_raising(self, code: str) -> tuple[str, str]:
        """Execute one cell that must raise; its exception's name and its traceback as plain text."""
        errors: list[dict[str, Any]] = []

        def collect(message: dict[str, Any]) -> None:
            if message["msg_type"] == "error":
                errors.append(message["content"])

        self.client.execute_interactive(
            textwrap.dedent(code), timeout=CELL_TIMEOUT, output_hook=collect, store_history=False
        )
        assert errors, "the cell did not raise"
        return errors[0]["ename"], re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0]["traceback"]))

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)
