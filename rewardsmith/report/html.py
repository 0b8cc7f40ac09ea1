"""Shared pieces of the HTML reports: the template environment, embedding, highlighting."""

from __future__ import annotations

import base64
import math
import time
from pathlib import Path
from typing import Any

#: Media files larger than this are linked (relative to the report), not embedded.
MAX_EMBED_BYTES = 8 * 1024 * 1024


def data_uri(data: bytes, mime: str) -> str:
    """``data:`` URI of ``data``, so the report is one file that can be mailed."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def media_src(path: Path, mime: str, report_dir: Path, budget: list[int]) -> str:
    """Embed ``path`` while ``budget[0]`` bytes remain; otherwise link it relative to the report.

    Args:
        path: A video or an image.
        mime: Its MIME type.
        report_dir: Folder the report is written to.
        budget: One-element list of bytes that may still be embedded; decreased in place.
    """
    size = path.stat().st_size
    if size <= min(budget[0], MAX_EMBED_BYTES):
        budget[0] -= size
        return data_uri(path.read_bytes(), mime)
    return path.resolve().relative_to(report_dir.resolve()).as_posix()


def highlight_python(source: str) -> str:
    """HTML of ``source`` with Python syntax highlighting (CSS from :func:`code_css`)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(source, PythonLexer(), HtmlFormatter(cssclass="highlight"))


def code_css() -> str:
    """CSS of the highlighted code blocks."""
    from pygments.formatters import HtmlFormatter

    css = HtmlFormatter(cssclass="highlight").get_style_defs(".highlight")
    return f"{css}\n.highlight pre {{ padding: .6em; overflow-x: auto; }}"


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a table cell (``-`` when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}" if abs(value) >= 1e4 else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    """A fraction as a percentage (``-`` when missing)."""
    return "-" if value is None else f"{value:.0%}"


def render(template: str, **context: Any) -> str:
    """Render one of the package's report templates (autoescaped, strict)."""
    import jinja2

    from rewardsmith import __version__

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(fmt=fmt, pct=pct)
    return env.get_template(template).render(
        version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        code_css=code_css(),
        **context,
    )
