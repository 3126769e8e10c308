"""Environments for ``.http`` files, read where the editors keep them.

- JetBrains: ``http-client.env.json``, with ``http-client.private.env.json`` beside it for secrets
  (its values win), ``{"dev": {"host": "..."}, "prod": {...}}``;
- VS Code REST Client: ``"rest-client.environmentVariables"`` in ``.vscode/settings.json``.

Each is looked for in the ``.http`` file's directory, then in its parents; the first found counts.
``$shared`` (both tools) applies in every environment; a selected environment's values win over it,
and JetBrains' over VS Code's. Without a selected environment, only ``$shared`` applies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["HTTPEnvironmentError", "load_environment", "read_dotenv"]

JETBRAINS = ("http-client.env.json", "http-client.private.env.json")
VSCODE = (".vscode", "settings.json")
VSCODE_KEY = "rest-client.environmentVariables"
#: A JSON string, or a comment, or a comma before a closing bracket (VS Code's settings allow all three).
_JSONC = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.S)


class HTTPEnvironmentError(ValueError):
    """An environment that is asked for but not there, or a file that is not JSON."""


def _find_upwards(start: Path, *parts: str) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory.joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None


def _read_json(path: Path, *, comments: bool = False) -> Any:
    text = path.read_text(encoding="utf-8")
    if comments:
        text = _JSONC.sub(lambda m: m.group() if m.group().startswith('"') else "", text)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HTTPEnvironmentError(f"{path} is not valid JSON: {exc}") from None


def _environments(start: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """The environment tables found (VS Code's first, then JetBrains' public and private), and their files."""
    tables, files = [], []
    settings = _find_upwards(start, *VSCODE)
    if settings is not None:
        table = _read_json(settings, comments=True).get(VSCODE_KEY)
        if isinstance(table, dict):
            tables.append(table)
            files.append(settings)
    public = _find_upwards(start, JETBRAINS[0])
    directory = public.parent if public is not None else None
    private = (directory / JETBRAINS[1]) if directory is not None else _find_upwards(start, JETBRAINS[1])
    for path in (public, private):
        if path is not None and path.is_file():
            tables.append(_read_json(path))
            files.append(path)
    return tables, files


def load_environment(start: str | Path, name: str | None) -> dict[str, str]:
    """The variables of environment ``name`` (with ``$shared``) for a ``.http`` file in ``start``."""
    tables, files = _environments(Path(start))
    values: dict[str, str] = {}
    for table in tables:
        values.update({k: str(v) for k, v in (table.get("$shared") or {}).items()})
    if name is None:
        return values
    known = sorted({env for table in tables for env in table if env != "$shared"})
    if name not in known:
        where = ", ".join(str(f) for f in files) or f"no {JETBRAINS[0]} or .vscode/settings.json in {start} or above"
        raise HTTPEnvironmentError(f"no environment {name!r} (known: {', '.join(known) or 'none'}; read: {where})")
    for table in tables:
        values.update({k: str(v) for k, v in (table.get(name) or {}).items()})
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``#`` comments, ``export``, quotes); empty if there is none."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return values
    for line in text.splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$", line)
        if match is None or line.lstrip().startswith("#"):
            continue
        value = match.group(2)
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[match.group(1)] = value
    return values
