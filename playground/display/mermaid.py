"""A trace as a Mermaid ``sequenceDiagram``: the text JupyterLab 4.1+ (and GitHub's Markdown) draws.

The same picture as the SVG in the HTML display, in a form other tools can edit and draw: one arrow
per ASGI message, client on the left, app on the right. Like the SVG it holds no time offsets and no
header values, so it is the same in every run (notebook outputs are compared as stored).
"""

from __future__ import annotations

from typing import Any

from .common import diagram

__all__ = ["MIME_TYPE", "Mermaid", "sequence_diagram"]

MIME_TYPE = "text/vnd.mermaid"

# Mermaid reads "#...;" as an entity, ";" and a line break as the end of a statement, and passes
# < > & " on to HTML: each is written as the entity of its code point.
_ENTITIES = {char: f"#{ord(char)};" for char in '#;<>&"'}


def _label(text: str) -> str:
    text = " ".join(text.split())  # no line breaks inside a label
    return "".join(_ENTITIES.get(char, char) for char in text)


class Mermaid(str):
    """Mermaid source text that displays as its diagram where the notebook can draw one."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {MIME_TYPE: str(self), "text/plain": str(self)}


def sequence_diagram(trace: Any) -> Mermaid:
    """The trace's messages as a Mermaid ``sequenceDiagram``."""
    arrows, more, end = diagram(trace)
    lines = ["sequenceDiagram", "    participant client", "    participant app"]
    for direction, text in arrows:
        arrow = "client->>app" if direction == "receive" else "app-->>client"
        lines.append(f"    {arrow}: {_label(text.rstrip())}")
    if more:
        lines.append(f"    Note over client,app: … {more:,} more messages")
    lines.append(f"    Note over app: {_label(end)}")
    return Mermaid("\n".join(lines) + "\n")
