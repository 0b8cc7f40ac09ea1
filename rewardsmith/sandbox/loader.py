"""Turn checked reward source into a callable, with only safe builtins in reach.

This is the second layer after :mod:`rewardsmith.sandbox.policy`: even source that
skipped the policy finds no ``open``, ``exec``, ``getattr`` or real ``__import__`` here,
and can import nothing but numpy and math. It is not the last layer: the process that
calls :func:`load_reward` is itself sandboxed (see :mod:`rewardsmith.sandbox.runner`).
"""

from __future__ import annotations
import __future__

import builtins
import typing
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

#: Filename given to compiled reward code; tracebacks name it, so line numbers can be mapped back.
REWARD_FILENAME = "<reward>"

#: Modules reward code may import (``import numpy.linalg`` included).
IMPORTABLE = frozenset({"numpy", "math", "numpy.linalg", "numpy.fft"})

#: Type-hint names reward code may take with ``from typing import ...`` (an LLM habit);
#: the import yields a namespace holding only these, never the typing module itself.
TYPING_NAMES = frozenset(
    {"Any", "Callable", "Dict", "List", "Mapping", "Optional", "Sequence", "Tuple", "Union"}
)

#: Builtins that compute and nothing else: no I/O, no introspection, no code execution.
SAFE_BUILTIN_NAMES = frozenset(
    {
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "int", "isinstance", "iter", "len", "list", "map", "max", "min",
        "next", "pow", "range", "reversed", "round", "set", "slice", "sorted", "str",
        "sum", "tuple", "zip", "print",
        "ArithmeticError", "AssertionError", "Exception", "FloatingPointError",
        "IndexError", "KeyError", "OverflowError", "RuntimeError", "StopIteration",
        "TypeError", "ValueError", "ZeroDivisionError",
        "True", "False", "None",
    }
)  # fmt: skip


def _no_print(*args: Any, **kwargs: Any) -> None:
    """Stand-in for ``print``: a reward runs every vector step, so its output would flood logs."""


def _restricted_import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> Any:
    """``__import__`` that only knows numpy and math (plus type-hint names)."""
    if level == 0 and name == "typing":
        return SimpleNamespace(**{n: getattr(typing, n) for n in TYPING_NAMES})
    if level == 0 and name == "__future__" and tuple(fromlist or ()) == ("annotations",):
        return __future__
    if level != 0 or name not in IMPORTABLE:
        shown = "." * level + name
        raise ImportError(f"reward code may only import numpy and math, not {shown!r}")
    return builtins.__import__(name, None, None, fromlist, 0)


_numpy_primed = False


def prime_numpy() -> None:
    """Let numpy import the Python halves of its array methods now, from trusted code.

    ``x.sum()``, ``x.mean()``, ``x.clip()``, ``str(x)`` and their kin import a helper
    module (``numpy._core._methods``, ``numpy._core.arrayprint``) on their first call in a
    process, through the ``__import__`` of the calling frame. Called first from reward code,
    that is :func:`_restricted_import`, which refuses them, so the critic rejected rewards
    that training (where SB3 had called them already) ran. Calling each once here fills
    numpy's cache; the guard stays as strict as it was.
    """
    global _numpy_primed
    if _numpy_primed:
        return
    import numpy as np

    x = np.ones((2, 2))
    for method in ("all", "any", "max", "min", "mean", "prod", "std", "sum", "var", "argsort"):
        getattr(x, method)(axis=1)
    x.clip(0.0, 1.0)
    x.copy().sort(axis=1)
    x.view(np.float64)
    str(x), repr(x), str(x[0, 0]), repr(x[0, 0])
    _numpy_primed = True


def safe_builtins() -> dict[str, Any]:
    """Return a fresh builtins mapping for reward code (``print`` is a no-op)."""
    table: dict[str, Any] = {
        name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES if name != "print"
    }
    table["print"] = _no_print
    table["__import__"] = _restricted_import
    return table


def load_reward(source: str, name: str = "compute_reward") -> Callable[..., Any]:
    """Execute reward ``source`` in a restricted namespace and return its ``compute_reward``.

    The caller is expected to have run :func:`rewardsmith.sandbox.policy.check_source`
    first; this function does not judge the code, it only withholds unsafe builtins.

    Args:
        source: Module source defining ``compute_reward``.
        name: The function to return.

    Returns:
        The function object; its code objects carry the filename :data:`REWARD_FILENAME`.

    Raises:
        SyntaxError: The source does not compile.
        LookupError: The module defines no callable ``name``.
        Exception: Whatever the module's top-level code raises (e.g. ``ImportError``).

    """
    prime_numpy()
    code = compile(source, REWARD_FILENAME, "exec")
    # A plain dict: CPython's import machinery requires one. Code that edits it can only
    # add objects it already holds.
    namespace: dict[str, Any] = {
        "__builtins__": safe_builtins(),
        "__name__": "reward",
    }
    exec(code, namespace)
    fn = namespace.get(name)
    if not callable(fn):
        raise LookupError(f"the reward code defines no function {name}()")
    return fn
