"""Static policy for reward code: an AST allow-list with verdicts an LLM can act on.

:func:`check_source` returns every problem it finds, each one sentence-complete: the
rule, the offending code with its line number, and the fix. It is the first and
cheapest sandbox layer; :mod:`rewardsmith.sandbox.loader` and the OS limits of
:mod:`rewardsmith.sandbox.runner` stand behind it.

Choices (kept deliberately simple):

* ``try``/``except`` is allowed, but not a bare ``except:``.
* ``with`` is allowed only for ``np.errstate(...)``, a common idiom around divisions.
* ``np.random`` is refused: a reward must be a deterministic function of the state.
* numpy submodules other than ``linalg``, ``fft`` and ``emath`` are refused, as are
  numpy functions that touch files, printing or global configuration.
* Forbidden builtins (``getattr``, ``eval``, ``open``...) are refused where used; a
  variable that merely shares the name (``dir = np.sign(v)``) is fine, since the
  loader does not provide the builtin anyway.
* ``print`` is allowed (the loader makes it a no-op), and so are type hints imported
  with ``from typing import Dict, Tuple, ...`` and ``from __future__ import annotations``.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from rewardsmith.sandbox.loader import IMPORTABLE, SAFE_BUILTIN_NAMES, TYPING_NAMES
from rewardsmith.train.contract import PREVIOUS_HINT, is_reward_input

#: numpy submodules reward code may use, by access path.
ALLOWED_SUBMODULES = frozenset({"numpy.linalg", "numpy.fft", "numpy.emath"})

#: numpy names refused at any level, with the reason shown to the designer.
DENIED_NUMPY: dict[str, str] = {
    **dict.fromkeys(
        (
            "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
            "fromfile", "fromregex", "memmap", "DataSource", "recfromcsv", "recfromtxt",
        ),
        "reward code may not read or write files",
    ),
    **dict.fromkeys(
        (
            "set_printoptions", "printoptions", "set_string_function", "setbufsize",
            "seterrcall", "seterr", "add_newdoc", "add_docstring", "add_newdoc_ufunc",
        ),
        "reward code may not change numpy's global configuration",
    ),
    **dict.fromkeys(
        ("info", "show_config", "show_runtime", "test", "lookfor", "source", "who"),
        "reward code may not print, introspect or run numpy's tools",
    ),
    **dict.fromkeys(
        ("sctypeDict", "typecodes"),
        "these are numpy's own mutable tables, shared with the code that trains and scores",
    ),
    "random": "a reward must be a deterministic function of the state (no randomness)",
    "ctypeslib": "reward code may not reach raw memory or C libraries",
}  # fmt: skip

#: Builtins refused by name (the loader does not provide them either).
FORBIDDEN_NAMES = frozenset(
    {
        "getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars", "type",
        "compile", "exec", "eval", "open", "__import__", "breakpoint", "input",
        "memoryview", "object", "super", "classmethod", "staticmethod", "property", "help",
        "dir", "id", "exit", "quit",
    }
)  # fmt: skip

#: Attribute names refused on any object: file writers, raw memory, and format-string tricks.
DENIED_ATTRIBUTES: dict[str, str] = {
    "tofile": "writes a file",
    "dump": "writes a file",
    "dumps": "serialises objects",
    "ctypes": "exposes raw memory",
    "format": "can read attributes through format strings; use an f-string",
    "format_map": "can read attributes through format strings; use an f-string",
    "mro": "introspects classes",
}
#: Prefixes of frame, code and traceback attributes (``gi_frame``, ``f_globals``...).
_INTERNAL_PREFIXES = ("gi_", "cr_", "ag_", "f_", "co_", "tb_")

_ALLOWED_NODES: tuple[type, ...] = (
    ast.Module, ast.FunctionDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign,
    ast.AnnAssign, ast.For, ast.While, ast.If, ast.Raise, ast.Try, ast.Assert, ast.Import,
    ast.ImportFrom, ast.Expr, ast.Pass, ast.Break, ast.Continue, ast.BoolOp, ast.NamedExpr,
    ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set, ast.ListComp,
    ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call, ast.FormattedValue,
    ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name,
    ast.List, ast.Tuple, ast.Slice, ast.expr_context, ast.boolop, ast.operator, ast.unaryop,
    ast.cmpop, ast.comprehension, ast.ExceptHandler, ast.arguments, ast.arg, ast.keyword,
    ast.alias, ast.With, ast.withitem,
)  # fmt: skip

_SAFE_FUNCTIONS = sorted(n for n in SAFE_BUILTIN_NAMES if n.islower())

_REFUSED_NODES: dict[type, str] = {
    ast.ClassDef: "class definitions are not allowed. Fix: use functions and dicts or tuples",
    ast.AsyncFunctionDef: "async functions are not allowed. Fix: use a plain `def`",
    ast.AsyncFor: "async loops are not allowed. Fix: use a plain `for`",
    ast.AsyncWith: "`async with` is not allowed. Fix: remove it",
    ast.Await: "`await` is not allowed. Fix: call functions directly",
    ast.Yield: "generators (`yield`) are not allowed. Fix: build and return a list or array",
    ast.YieldFrom: "generators (`yield from`) are not allowed. Fix: return a list or array",
    ast.Global: "`global` is not allowed: a reward must not keep state between calls. "
    "Fix: compute everything from the arguments",
    ast.Nonlocal: "`nonlocal` is not allowed. Fix: return values from helpers instead",
    ast.Match: "`match` statements are not allowed. Fix: use if/elif",
}


def _snippet(node: ast.AST, limit: int = 60) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # unparse of odd nodes is only cosmetic
        text = type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _close(name: str, options: Sequence[str], prefix: str = "") -> str:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean `{prefix}{match[0]}`?)" if match else ""


class _Problems:
    """Problems keyed by (rule, thing), so one mistake repeated shows once with all its lines."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[list[int], str]] = {}

    def add(self, line: int | None, text: str, key: str | None = None) -> None:
        key = key or text
        lines, _ = self._items.setdefault(key, ([], text))
        if line is not None and line not in lines:
            lines.append(line)

    def render(self) -> list[str]:
        def first_line(item: tuple[list[int], str]) -> int:
            return min(item[0]) if item[0] else 0

        out = []
        for lines, text in sorted(self._items.values(), key=first_line):
            if not lines:
                out.append(text)
                continue
            where = "line" if len(lines) == 1 else "lines"
            out.append(f"{where} {', '.join(map(str, sorted(lines)))}: {text}")
        return out


class _Checker:
    """One pass over a parsed module; see :func:`check_source`."""

    def __init__(self, tree: ast.Module, allowed_params: Sequence[str]) -> None:
        self.tree = tree
        self.allowed = list(allowed_params)
        self.problems = _Problems()
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.aliases: dict[str, str] = {}  # local name -> dotted path (e.g. np -> numpy)
        self.bound: set[str] = set()

    # -- helpers -------------------------------------------------------------------

    def line(self, node: ast.AST) -> int | None:
        while node is not None:
            lineno = getattr(node, "lineno", None)
            if lineno is not None:
                return lineno
            node = self.parents.get(node)  # type: ignore[assignment]
        return None

    def available(self) -> str:
        if not self.allowed:
            return "(none)"
        return ", ".join(self.allowed) + f", and {PREVIOUS_HINT}"

    def resolve(self, path: str) -> Any:
        """Return the object at dotted ``path`` under numpy/math (``None`` when missing)."""
        root, *rest = path.split(".")
        if root not in ("numpy", "math"):  # also "" for names that are not import aliases
            return None  # never import a module the untrusted code merely names
        obj: Any = importlib.import_module(root)
        for part in rest:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj

    def check_module_attr(self, node: ast.AST, prefix: str, attr: str, shown: str) -> Any:
        """Check ``prefix.attr`` (prefix is a module path); return the object or ``None``."""
        line = self.line(node)
        if attr.startswith("_"):
            self.problems.add(
                line,
                f"`{shown}` is not allowed: names starting with an underscore are internals. "
                "Fix: use only public numpy/math functions",
            )
            return None
        if prefix.startswith("numpy") and attr in DENIED_NUMPY:
            self.problems.add(
                line,
                f"`{shown}` is not allowed: {DENIED_NUMPY[attr]}. "
                "Fix: remove it; a reward only computes from its arguments",
            )
            return None
        module = self.resolve(prefix)
        obj = getattr(module, attr, None) if module is not None else None
        if obj is None:
            public = [n for n in dir(module) if not n.startswith("_")] if module else []
            self.problems.add(
                line,
                f"`{shown}` does not exist in {prefix}"
                f"{_close(attr, public, shown[: -len(attr)])}. "
                "Fix: use an existing function",
            )
            return None
        if isinstance(obj, ModuleType) and f"{prefix}.{attr}" not in ALLOWED_SUBMODULES:
            self.problems.add(
                line,
                f"`{shown}` is not allowed: of numpy's submodules only "
                "np.linalg, np.fft and np.emath are available. Fix: use numpy's top-level "
                "functions",
            )
            return None
        return obj

    # -- passes --------------------------------------------------------------------

    def run(self) -> list[str]:
        self.collect_bindings()
        self.check_entry_point()
        for node in ast.walk(self.tree):
            self.check_node(node)
        return self.problems.render()

    def collect_bindings(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bound.add(node.name)
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.aliases[local] = alias.name if alias.asname else local
                    self.bound.add(local)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if alias.name != "*":
                        local = alias.asname or alias.name
                        self.aliases[local] = f"{node.module}.{alias.name}"
                        self.bound.add(local)

    def check_entry_point(self) -> None:
        defs = [
            n
            for n in self.tree.body
            if isinstance(n, ast.FunctionDef) and n.name == "compute_reward"
        ]
        if not defs:
            self.problems.add(
                None,
                "the code defines no top-level function `compute_reward`. Fix: add "
                "`def compute_reward(<fields>):` at module level (not inside a class or another "
                f"function), taking the state fields it reads; available: {self.available()}",
            )
            return
        if len(defs) > 1:
            self.problems.add(
                defs[-1].lineno,
                "`compute_reward` is defined more than once; only the last definition would "
                "count. Fix: keep exactly one",
            )
        fn = defs[-1]
        args = fn.args
        if args.vararg or args.kwarg:
            star = f"*{args.vararg.arg}" if args.vararg else f"**{args.kwarg.arg}"  # type: ignore[union-attr]
            self.problems.add(
                fn.lineno,
                f"compute_reward must not take `{star}`: the state fields are passed by name. "
                f"Fix: list the fields it reads as parameters; available: {self.available()}",
            )
        if args.posonlyargs:
            self.problems.add(
                fn.lineno,
                "compute_reward must not have positional-only parameters (`/`): the state "
                "fields are passed by name. Fix: remove the `/`",
            )
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        for name in params:
            if not is_reward_input(name, self.allowed):
                self.problems.add(
                    fn.lineno,
                    f"compute_reward parameter `{name}` is not a state field of this task"
                    f"{_close(name, self.allowed)}. Fix: use only these names as parameters: "
                    f"{self.available()}",
                )
        if not params and not (args.vararg or args.kwarg):
            self.problems.add(
                fn.lineno,
                "compute_reward takes no parameters, so its reward cannot depend on the state. "
                f"Fix: add the fields it should read as parameters; available: {self.available()}",
            )

    def check_node(self, node: ast.AST) -> None:
        line = self.line(node)
        refused = _REFUSED_NODES.get(type(node))
        if refused is not None:
            self.problems.add(line, refused)
            return
        if not isinstance(node, _ALLOWED_NODES):
            name = type(node).__name__
            self.problems.add(
                line, f"`{name}` syntax is not allowed in reward code. Fix: use plain Python"
            )
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.check_import(node)
        elif isinstance(node, ast.Attribute):
            self.check_attribute(node)
        elif isinstance(node, ast.Name):
            self.check_name(node)
        elif isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
            root: ast.AST = node.value
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name) and isinstance(
                self.resolve(self.aliases.get(root.id, "")), ModuleType
            ):
                self.problems.add(
                    line,
                    f"assigning to or deleting `{_snippet(node)}` is not allowed: reward code "
                    "may not change numpy's or math's data. Fix: copy it into a local variable",
                )
        elif isinstance(node, (ast.FunctionDef, ast.arg)):
            name = node.name if isinstance(node, ast.FunctionDef) else node.arg
            if name.startswith("__"):
                self.problems.add(
                    line,
                    f"the name `{name}` is not allowed: names starting with two underscores "
                    "reach Python internals. Fix: rename it",
                )
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            self.problems.add(
                line,
                "a bare `except:` is not allowed (it would also swallow the sandbox's stop "
                "signals and hide bugs). Fix: catch a specific exception, e.g. "
                "`except ZeroDivisionError:`",
            )
        elif isinstance(node, ast.With):
            for item in node.items:
                if not (
                    isinstance(item.context_expr, ast.Call)
                    and self.path_of(item.context_expr.func) == "numpy.errstate"
                ):
                    self.problems.add(
                        line,
                        f"`with {_snippet(item.context_expr)}` is not allowed: `with` may only "
                        "be used with `np.errstate(...)`. Fix: remove the with-block",
                    )

    def check_import(self, node: ast.Import | ast.ImportFrom) -> None:
        line = self.line(node)
        if not isinstance(self.parents.get(node), ast.Module):
            self.problems.add(
                line,
                f"`{_snippet(node)}` is inside a function or block: imports must be at the top "
                "of the module. Fix: move it to the top of the file",
            )
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in IMPORTABLE:
                    self.problems.add(line, self.import_refusal(alias.name, _snippet(node)))
            return
        module = node.module or ""
        if not node.level and module in ("typing", "__future__"):
            self.check_hint_import(node, module)
            return
        if node.level or module not in IMPORTABLE:
            shown = "." * node.level + module
            self.problems.add(line, self.import_refusal(shown, _snippet(node)))
            return
        for alias in node.names:
            if alias.name == "*":
                self.problems.add(
                    line,
                    f"`from {module} import *` is not allowed. Fix: `import numpy as np` and "
                    "write np.<name>, or import the names you use",
                )
                continue
            self.check_module_attr(node, module, alias.name, f"{module}.{alias.name}")

    def check_hint_import(self, node: ast.ImportFrom, module: str) -> None:
        allowed = TYPING_NAMES if module == "typing" else frozenset({"annotations"})
        refused = [a.name for a in node.names if a.name not in allowed]
        if refused:
            self.problems.add(
                self.line(node),
                f"`{_snippet(node)}` is not allowed: from {module} only "
                f"{', '.join(sorted(allowed))} may be imported. Fix: import only those, or "
                "write type hints with builtin types such as `dict`",
            )

    def import_refusal(self, name: str, code: str) -> str:
        hint = ""
        if name.split(".")[0] == "typing":
            hint = " (use `from typing import Dict, Tuple` for type hints)"
        return (
            f"`{code}` is not allowed: reward code may only import numpy and math"
            f"{hint}. Fix: remove the import and compute with numpy (np) or math"
        )

    def path_of(self, expr: ast.AST) -> str | None:
        """Dotted path of a name/attribute chain rooted at an import alias, else ``None``."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if isinstance(expr, ast.Name) and expr.id in self.aliases:
            return ".".join([self.aliases[expr.id], *reversed(parts)])
        return None

    def check_attribute(self, node: ast.Attribute) -> None:
        line = self.line(node)
        attr = node.attr
        if not isinstance(node.ctx, ast.Load) and self.path_of(node) is None:
            # Reward code defines no classes, so storing an attribute can only change an
            # object it did not make: numpy's classes and functions, shared with the trainer.
            self.problems.add(
                line,
                f"assigning to or deleting the attribute `{_snippet(node)}` is not allowed: "
                "reward code may not change objects it did not create. Fix: use a local "
                "variable or a dict",
                key=f"store:{_snippet(node)}",
            )
        if attr.startswith("_"):
            self.problems.add(
                line,
                f"the attribute `.{attr}` (in `{_snippet(node)}`) is not allowed: attributes "
                "starting with an underscore are private or Python internals. Fix: use public "
                "functions and attributes only",
                key=f"attr:{attr}",
            )
            return
        if attr in DENIED_ATTRIBUTES:
            self.problems.add(
                line,
                f"the attribute `.{attr}` (in `{_snippet(node)}`) is not allowed: it "
                f"{DENIED_ATTRIBUTES[attr]}. Fix: remove it",
                key=f"attr:{attr}",
            )
            return
        if attr.startswith(_INTERNAL_PREFIXES):
            self.problems.add(
                line,
                f"the attribute `.{attr}` is not allowed: it reaches interpreter frames or code "
                "objects. Fix: remove it",
                key=f"attr:{attr}",
            )
            return
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return  # the outermost attribute of the chain checks the whole chain
        self.check_chain(node)

    def check_chain(self, node: ast.Attribute) -> None:
        parts: list[str] = []
        root: ast.AST = node
        while isinstance(root, ast.Attribute):
            parts.append(root.attr)
            root = root.value
        if not (isinstance(root, ast.Name) and root.id in self.aliases):
            return
        parts.reverse()
        prefix = self.aliases[root.id]
        obj: Any = self.resolve(prefix)
        if not isinstance(obj, ModuleType):
            return
        if not isinstance(node.ctx, ast.Load):
            self.problems.add(
                self.line(node),
                f"assigning to or deleting `{_snippet(node)}` is not allowed: reward code may "
                "not change numpy or math. Fix: use a local variable instead",
            )
            return
        shown = root.id
        for part in parts:
            shown = f"{shown}.{part}"
            obj = self.check_module_attr(node, prefix, part, shown)
            if obj is None or not isinstance(obj, ModuleType):
                return
            prefix = f"{prefix}.{part}"
        self.module_as_value(node, shown)

    def module_as_value(self, node: ast.AST, shown: str) -> None:
        self.problems.add(
            self.line(node),
            f"the module `{shown}` may only be used as `{shown}.<name>` (e.g. "
            f"`{shown}.sqrt(x)`), not assigned, passed or returned. Fix: call its functions "
            "directly",
        )

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        line = self.line(node)
        if name.startswith("__"):
            self.problems.add(
                line,
                f"the name `{name}` is not allowed: names starting with two underscores reach "
                "Python internals. Fix: remove it",
            )
            return
        if not isinstance(node.ctx, ast.Load):
            return
        if name in self.aliases:
            target = self.resolve(self.aliases[name])
            parent = self.parents.get(node)
            used_as_root = isinstance(parent, ast.Attribute) and parent.value is node
            if isinstance(target, ModuleType) and not used_as_root:
                self.module_as_value(node, name)
            return
        if name in self.bound or name in SAFE_BUILTIN_NAMES:
            return
        if name in FORBIDDEN_NAMES:
            self.problems.add(
                line,
                f"`{name}` is not allowed in reward code: it can reach files, the interpreter "
                "or other code. Fix: write the computation directly with arithmetic, numpy "
                "and math",
            )
        elif name in self.allowed:
            self.problems.add(
                line,
                f"`{name}` is a state field but not a parameter of compute_reward. Fix: add "
                f"`{name}` to compute_reward's parameters (and pass it to helpers as an "
                "argument)",
            )
        elif hasattr(builtins, name):
            self.problems.add(
                line,
                f"the builtin `{name}` is not available to reward code. Fix: use numpy or one "
                f"of: {', '.join(_SAFE_FUNCTIONS)}",
            )
        else:
            self.problems.add(
                line,
                f"the name `{name}` is not defined{_close(name, self.allowed)}. State fields "
                "reach the reward only as parameters of compute_reward; available: "
                f"{self.available()}. Fix: define it or take it as a parameter",
            )


def check_source(source: str, allowed_params: Sequence[str]) -> list[str]:
    """Every policy problem in reward ``source`` (empty when it may run).

    Args:
        source: Python module source that should define ``compute_reward``.
        allowed_params: Names ``compute_reward`` may take (the task's fields and ``action``).

    Returns:
        Problems in line order, each a self-contained sentence naming the rule, the code
        with its line number, and the fix.

    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        text = " ".join((exc.text or "").split())
        text = text if len(text) <= 80 else text[:77] + "..."
        shown = f" in `{text}`" if text else ""
        return [
            f"{where}the code does not parse (SyntaxError: {exc.msg}){shown}. "
            "Fix: make it valid Python 3"
        ]
    except (RecursionError, MemoryError):
        return ["the code is nested too deeply to parse. Fix: write flatter expressions"]
    except ValueError as exc:  # e.g. null bytes in the source
        return [f"the code does not parse ({exc}). Fix: make it valid Python 3 text"]
    return _Checker(tree, allowed_params).run()
