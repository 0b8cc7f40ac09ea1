"""Jinja2 prompt templates (``*.j2``) shipped with the package, rendered strictly.

Templates use ``StrictUndefined``: a value the caller forgets is an error at render
time, not a silent blank in a prompt.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # prompts are plain text, not HTML
    )


def render(name: str, **values: Any) -> str:
    """Render the template ``name`` (with or without the ``.j2`` suffix).

    Args:
        name: Template name, e.g. ``"initial_user"``.
        **values: Template variables; every variable the template uses must be given.

    Raises:
        jinja2.UndefinedError: A variable the template uses is missing.
        jinja2.TemplateNotFound: No such template.
    """
    filename = name if name.endswith(".j2") else f"{name}.j2"
    return _environment().get_template(filename).render(**values)


def template_names() -> list[str]:
    """Names (without ``.j2``) of the shipped templates."""
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.j2"))
