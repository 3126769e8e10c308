"""Re-execute notebooks in place and store their outputs, the same bytes every time.

Used by ``make notebooks``. Each notebook runs top to bottom in a fresh kernel of this environment;
cells tagged ``raises-exception`` may raise. The outputs then go through the rules of
``sanitize.cfg`` beside the notebook (the ones nbval compares with), so timings are stored as
``##.### ms`` and a second run writes the same bytes; tracebacks name files relative to the
checkout. Last, the notebook is normalised the way
``nbstripout --keep-output --keep-count`` wants it, so the cleanliness check passes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def sanitize_rules(path: Path) -> list[tuple[str, str]]:
    """The ``regex:``/``replace:`` pairs of a sanitize file, parsed exactly as nbval parses them."""
    if not path.exists():
        return []
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


def sanitize_outputs(notebook: nbformat.NotebookNode, rules: list[tuple[str, str]]) -> None:
    def clean(text: str | list[str]) -> str:
        text = "".join(text) if isinstance(text, list) else text
        for regex, replace in rules:
            text = re.sub(regex, replace, text)
        return text

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, (str, list)):
                    output["data"][mime] = clean(value)


ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def relative_tracebacks(notebook: nbformat.NotebookNode) -> None:
    """Stored tracebacks name files relative to the checkout, so they read the same in any clone."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "traceback" in output:
                output["traceback"] = [line.replace(ROOT, "") for line in output["traceback"]]


def run(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    sanitize_outputs(notebook, sanitize_rules(path.parent / "sanitize.cfg"))
    relative_tracebacks(notebook)
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    subprocess.run([Path(sys.executable).parent / "nbstripout", "--keep-output", "--keep-count", str(path)],
                   check=True)
    print(f"ran {path}")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run(Path(name))
