"""Re-execute notebooks in place and store their outputs, the same bytes every time.

Used by ``make notebooks``. Each notebook runs top to bottom in a fresh kernel of this environment;
cells tagged ``raises-exception`` may raise. Afterwards the notebook is normalised the way
``nbstripout --keep-output --keep-count`` wants it, so the cleanliness check passes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    subprocess.run([Path(sys.executable).parent / "nbstripout", "--keep-output", "--keep-count", str(path)],
                   check=True)
    print(f"ran {path}")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run(Path(name))
