"""Print the project's runtime and test requirements by name only, for ``make test-latest``.

The newest release of each is what gets installed, past pyproject.toml's upper bounds: the point is to
learn, before users do, which release breaks what.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
names = []
for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)", spec)
    assert match is not None, f"cannot read the requirement {spec!r}"
    names.append(match.group(1))
print(" ".join(names))
