"""Pull reward code out of a model's markdown answer.

Models wrap code in fences (```` ```python ````, bare ```` ``` ````, sometimes ``~~~``),
split it across several blocks, forget the closing fence, or write no fence at all.
:func:`extract_code` copes with all of these and returns one self-contained source per
``compute_reward`` it finds, with the helpers and imports that earlier blocks provide.
"""

from __future__ import annotations

import ast
import re
import textwrap

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_DEFINES_REWARD = re.compile(r"^[ \t]*def[ \t]+compute_reward[ \t]*\(", re.MULTILINE)
_CODE_START = re.compile(r"^(import |from \S+ import |def |@|[A-Z_][A-Z0-9_]* *=)", re.MULTILINE)
# Languages whose blocks can never hold the reward (a JSON example, a shell command).
_NOT_PYTHON = {"json", "bash", "sh", "shell", "console", "text", "yaml", "toml", "markdown"}


def extract_code(text: str) -> list[str]:
    """Every ``compute_reward`` source in ``text``, in order of appearance.

    Each returned source is the block that defines ``compute_reward`` preceded by the
    imports, constants and functions from earlier blocks that it needs. Without fences,
    the code runs from the first ``import``/``def`` line to the last line that still
    parses.

    Args:
        text: The model's answer.

    Returns:
        Sources (empty when nothing defines ``compute_reward``).
    """
    blocks = _fenced_blocks(text)
    if not blocks:
        bare = _unfenced_code(text)
        return [bare] if bare else []
    sources = []
    for i, block in enumerate(blocks):
        if _DEFINES_REWARD.search(block):
            sources.append(_with_dependencies(block, blocks[:i]))
    if not sources:
        # Fenced prose with the code outside the fences.
        bare = _unfenced_code(_FENCE.sub("", text))
        return [bare] if bare else []
    return sources


def _fenced_blocks(text: str) -> list[str]:
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        marker, lang = opening.group(1), opening.group(2).lower()
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing.group(1).startswith(marker[:3]) and not closing.group(2):
                break
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence (or the end, when the answer was cut off)
        if lang not in _NOT_PYTHON:
            blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return [b for b in blocks if b.strip()]


def _unfenced_code(text: str) -> str:
    """The code in an answer without fences: from the first code line to what parses."""
    start = _CODE_START.search(text)
    if not start or not _DEFINES_REWARD.search(text, start.start()):
        return ""
    lines = text[start.start() :].splitlines()
    # Trailing prose ("This reward encourages ...") breaks parsing: drop lines from the
    # end until the rest parses, but never cut into compute_reward's own definition.
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end]).rstrip() + "\n"
        if not _DEFINES_REWARD.search(candidate):
            break
        try:
            ast.parse(candidate)
        except SyntaxError:
            continue
        return candidate
    # Nothing parses: hand over everything, so the critic can report the syntax error.
    return "\n".join(lines).rstrip() + "\n"


def _with_dependencies(block: str, earlier: list[str]) -> str:
    """``block`` preceded by what earlier blocks define that it (transitively) uses."""
    if not earlier:
        return block
    needed = _free_names(block)
    kept: list[str] = []
    for previous in reversed(earlier):
        if _DEFINES_REWARD.search(previous):
            continue  # an older draft of the reward, superseded by this block
        provided = _defined_names(previous)
        if provided & needed:
            kept.insert(0, previous)
            needed |= _free_names(previous)
        elif _only_imports(previous):
            kept.insert(0, previous)
    if not kept:
        return block
    return "\n\n".join(part.rstrip("\n") for part in [*kept, block]) + "\n"


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def _defined_names(code: str) -> set[str]:
    tree = _parse(code)
    if tree is None:
        return set(re.findall(r"^[ \t]*def[ \t]+(\w+)", code, re.MULTILINE))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _free_names(code: str) -> set[str]:
    tree = _parse(code)
    if tree is None:
        return set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", code))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _only_imports(code: str) -> bool:
    tree = _parse(code)
    return (
        tree is not None
        and bool(tree.body)
        and all(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body)
    )
