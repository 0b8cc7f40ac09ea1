"""Copy a task's field extractor into standalone source: itself, its helpers, its constants.

The extractor (``extract(env, obs, action)``) and every rewardsmith function it calls are
copied with :func:`inspect.getsource`; plain constants are written as literals; numpy and
math are imported; a helper module it reads as a namespace (``fl.count_step``) becomes a
``types.SimpleNamespace`` of the copied members. Anything else cannot be exported.
"""

from __future__ import annotations

import builtins
import dis
import functools
import inspect
import math
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewardsmith.errors import UserError

_PLAIN = (bool, int, float, str, type(None))


class ExportError(UserError):
    """The run cannot be exported (no best reward, or an extractor that is not portable)."""


@dataclass
class _Closure:
    """What the field extractor needs, collected in definition order."""

    imports: set[str] = field(default_factory=set)
    blocks: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, list[str]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)


def _code_names(code: types.CodeType) -> tuple[set[str], set[str]]:
    """Global names ``code`` loads, and attribute names it reads, nested code included."""
    globals_, attrs = set(), set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            globals_.add(str(ins.argval))
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
            attrs.add(str(ins.argval))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            inner_globals, inner_attrs = _code_names(const)
            globals_ |= inner_globals
            attrs |= inner_attrs
    return globals_, attrs


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple | frozenset):
        return all(_is_plain(v) for v in value)
    return False


def _own_module(value: Any) -> bool:
    return getattr(value, "__module__", "").split(".")[0] == "rewardsmith"


def _add_function(fn: types.FunctionType, closure: _Closure) -> None:
    if id(fn) in closure.seen:
        return
    closure.seen.add(id(fn))
    _visit_globals(fn, closure)
    source = textwrap.dedent(inspect.getsource(fn))
    closure.blocks[fn.__name__] = source.rstrip() + "\n"


def _add_global(name: str, value: Any, owner: str, closure: _Closure) -> None:
    if isinstance(value, types.ModuleType):
        if value is np:
            closure.imports.add(f"import numpy as {name}" if name != "np" else "import numpy as np")
        elif value is math:
            closure.imports.add("import math" if name == "math" else f"import math as {name}")
        elif _own_module_name(value):
            closure.namespaces.setdefault(name, [])
        else:
            raise ExportError(
                f"the field extractor {owner} uses module {value.__name__!r}; an exported "
                "reward may depend only on numpy and math"
            )
        return
    if isinstance(value, types.FunctionType) and _own_module(value):
        _add_function(value, closure)
        if value.__name__ != name:
            closure.blocks[name] = f"{name} = {value.__name__}\n"
        return
    if _is_plain(value):
        closure.blocks.setdefault(name, f"{name} = {value!r}\n")
        return
    if callable(value) and getattr(np, getattr(value, "__name__", ""), None) is value:
        closure.imports.add("import numpy as np")
        closure.blocks.setdefault(name, f"{name} = np.{value.__name__}\n")
        return
    raise ExportError(
        f"the field extractor {owner} reads {name!r} ({type(value).__name__}), which cannot "
        "be copied into a standalone module"
    )


def _own_module_name(module: types.ModuleType) -> bool:
    return module.__name__.split(".")[0] == "rewardsmith"


def _visit_globals(fn: types.FunctionType, closure: _Closure) -> None:
    names, attrs = _code_names(fn.__code__)
    for name in sorted(names):
        if name not in fn.__globals__:
            if hasattr(builtins, name):
                continue
            raise ExportError(f"the field extractor {fn.__qualname__} reads unknown name {name!r}")
        value = fn.__globals__[name]
        _add_global(name, value, fn.__qualname__, closure)
        if isinstance(value, types.ModuleType) and _own_module_name(value):
            # ``fl.count_step``: copy each member of the helper module that the code reads.
            for attr in sorted(attrs):
                member = getattr(value, attr, None)
                if member is None or attr.startswith("__"):
                    continue
                if isinstance(member, types.FunctionType) or _is_plain(member):
                    _add_global(attr, member, f"{value.__name__}.{attr}", closure)
                    if attr not in closure.namespaces[name]:
                        closure.namespaces[name].append(attr)


#: The exported reader of a task file's expression fields, mirroring
#: ``rewardsmith.envs.taskfile.ExprExtractor``: the names come from a copy of its
#: ``step_names``, the builtins are ``taskexpr``'s (functions cannot be copied as data).
_EXPRESSION_READER = """
# ``__import__`` is not for the expressions (they were checked to name none of these) but
# for numpy, which imports the helpers of array methods such as ``obs[:3].sum()`` on first
# use through the builtins of the code that calls them.
EXPR_BUILTINS = {{"abs": abs, "min": min, "max": max, "float": float, "int": int, "len": len,
                 "sum": sum, "__import__": __import__}}
FIELD_EXPRESSIONS = {exprs!r}


def _file_extract(env, obs, action, info=None):
    fields = {base}
    names = step_names(env, obs, action, info)
    for name, expr, shape in FIELD_EXPRESSIONS:
        scope = {{"np": np, "math": math, **names}}
        value = np.asarray(eval(expr, {{"__builtins__": EXPR_BUILTINS}}, scope), dtype=np.float64)
        fields[name] = float(value) if shape == () else value.reshape(shape).copy()
    return fields
"""


def _expression_source(extract: Any) -> tuple[str, str]:
    """A task file's extractor: its base extractor, the MuJoCo helpers, its expressions."""
    from rewardsmith.envs.taskfile import step_names

    parts = []
    base = "{}"
    if extract.base is not None:
        base_source, base_name = extractor_source(extract.base)
        parts.append(base_source)
        base = f"dict({base_name}(env, obs, action))"
    closure = _Closure()
    _add_function(step_names, closure)
    parts.append(_assemble(closure))
    exprs = tuple((name, text, tuple(shape)) for name, _, shape, text in extract.exprs)
    parts.append(
        "import math\nimport numpy as np\n" + _EXPRESSION_READER.format(exprs=exprs, base=base)
    )
    return "\n\n".join(parts), "_file_extract"


def extractor_source(extract: Any) -> tuple[str, str]:
    """Standalone source of a task's field extractor and the name to call it by.

    Args:
        extract: The task's ``extract(env, obs, action)`` (a function or a
            :func:`functools.partial` of one with plain arguments).

    Returns:
        ``(source, name)``: imports, helpers, constants and the extractor, and the name
        under which the source defines a callable ``name(env, obs, action)``.

    Raises:
        ExportError: The extractor reads something other than numpy, math, plain
            constants and rewardsmith functions that are themselves portable.
    """
    from rewardsmith.envs.taskfile import ExprExtractor

    if isinstance(extract, ExprExtractor):
        return _expression_source(extract)
    closure = _Closure()
    wrapper = ""
    if isinstance(extract, functools.partial):
        fn = extract.func
        if not all(_is_plain(a) for a in (*extract.args, *extract.keywords.values())):
            raise ExportError("the field extractor is a partial with non-plain arguments")
        # A partial's own positional arguments come first, its keywords last.
        args = [repr(a) for a in extract.args]
        kwargs = [f"{k}={v!r}" for k, v in extract.keywords.items()]
        call = ", ".join([*args, "env", "obs", "action", *kwargs])
        name = "_task_extract"
        wrapper = f"\n\ndef {name}(env, obs, action):\n    return {fn.__name__}({call})\n"
    else:
        fn = extract
        name = getattr(fn, "__name__", "")
    if not isinstance(fn, types.FunctionType):
        raise ExportError(
            f"the field extractor {type(fn).__name__} is not a plain Python function, so it "
            "cannot be copied into a standalone module"
        )
    _add_function(fn, closure)
    return _assemble(closure) + wrapper, name


def _assemble(closure: _Closure) -> str:
    """Imports, then the copied blocks, then the helper namespaces they read."""
    namespaces = [
        f"{alias} = types.SimpleNamespace({', '.join(f'{m}={m}' for m in members)})\n"
        for alias, members in closure.namespaces.items()
    ]
    if namespaces:
        closure.imports.add("import types")
    blocks = list(closure.blocks.values()) + namespaces
    return "\n".join(sorted(closure.imports)) + "\n\n\n" + "\n\n".join(blocks)
