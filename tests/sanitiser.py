"""What JupyterLab's sanitiser keeps of a display's HTML, for untrusted notebooks: the allow-lists
from INSPECTION.md (and JupyterLab's own bundle when installed), and one assertion the display tests share."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# -- what the HTML may contain, from INSPECTION.md (and JupyterLab's own bundle when installed) --------

ALLOWED_TAGS = {
    "a", "abbr", "b", "br", "code", "details", "div", "dl", "dd", "dt", "em", "img", "kbd", "mark", "p", "pre",
    "small", "span", "strong", "summary", "table", "tbody", "td", "th", "thead", "time", "tr", "i", "ul", "li",
}
ALLOWED_STYLE_PROPERTIES = {
    "background", "background-color", "border", "border-collapse", "border-radius", "border-color", "color",
    "display", "flex-wrap", "gap", "align-items", "font-family", "font-size", "font-weight", "margin", "max-width",
    "opacity", "overflow-wrap", "padding", "text-align", "vertical-align", "white-space", "max-height",
    # the history's waterfall bars
    "margin-left", "margin-right", "width", "min-width", "height", "flex",
}
FORBIDDEN_VALUES = ("var(", "hsl(", "currentcolor", "inherit", "light-dark(", "sticky", "fixed", "calc(")


def _jupyterlab_allow_lists() -> tuple[set[str], set[str]] | None:
    """allowedTags and allowedStyles property names from the installed JupyterLab's sanitiser."""
    static = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static"
    for bundle in sorted(static.glob("jlab_core*.js")) if static.is_dir() else []:
        source = bundle.read_text(encoding="utf-8", errors="replace")
        tags = re.search(r'allowedTags:\[((?:"[a-z0-9]+",?)+)\]', source)
        styles = re.search(r'allowedStyles:\{"\*":\{(.*?)\}\}', source)
        if tags and styles:
            return set(re.findall(r'"([a-z0-9]+)"', tags.group(1))), set(
                re.findall(r'(?:^|,)"?([a-z-]+)"?:\[', styles.group(1)))
    return None


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def split_style_block(html: str) -> tuple[str, str]:
    markup, _, rest = html.partition("<style>")
    return markup, "<style>" + rest


def assert_sanitiser_proof(html: str) -> None:
    markup, style = split_style_block(html)
    # The optional <style> block polishes the trusted view only, with namespaced selectors.
    if style != "<style>":
        css = style.removeprefix("<style>").split("</style>")[0]
        for rule in filter(None, (r.strip() for r in css.split("}"))):
            selectors = rule.split("{")[0]
            assert all(s.strip().startswith(".pg-display") for s in selectors.split(",")), rule
    collector = _Collector()
    collector.feed(markup)
    assert collector.tags, "no markup"
    lab = _jupyterlab_allow_lists()
    tags_allowed = lab[0] if lab else ALLOWED_TAGS
    styles_allowed = (lab[1] & ALLOWED_STYLE_PROPERTIES) if lab else ALLOWED_STYLE_PROPERTIES
    for tag, attrs in collector.tags:
        assert tag in tags_allowed and tag in ALLOWED_TAGS, f"<{tag}> is not kept by the sanitiser"
        for name, value in attrs:
            assert name in ("style", "class", "src", "alt", "open", "colspan", "title"), f"{tag}[{name}]"
            if name == "src":
                assert tag == "img" and (value or "").startswith("data:image/svg+xml;base64,")
            if name == "style":
                for declaration in filter(None, (d.strip() for d in (value or "").split(";"))):
                    prop, _, val = declaration.partition(":")
                    assert prop.strip() in styles_allowed, f"style property {prop!r} is dropped by the sanitiser"
                    assert not any(bad in val.lower() for bad in FORBIDDEN_VALUES), declaration
                    for colour in re.findall(r"rgba?\([^)]*\)", val):
                        assert "," in colour, f"{colour}: only comma rgb()/rgba() survive"
    lowered = markup.lower()
    for forbidden in ("<script", "<svg", "<link", "<iframe", " id=", " onclick", "javascript:"):
        assert forbidden not in lowered, forbidden
