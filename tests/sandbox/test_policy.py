"""The static policy: good code passes, each forbidden construct is named with its line."""

import sys
import textwrap

import pytest

from rewardsmith.sandbox.policy import check_source

PARAMS = ["x", "v", "action"]

GOOD = '''
"""A reward with helpers, constants and the usual idioms."""
import math

import numpy as np
import numpy.linalg as la
from numpy.linalg import norm

TARGET = 1.5
WEIGHTS = {"speed": 1.0, "energy": 0.1}


def _speed_term(v):
    return np.tanh(v / TARGET)


def shaped(x, scale=2.0):
    return np.exp(-scale * (x - TARGET) ** 2)


def compute_reward(x, v, action: np.ndarray) -> tuple:
    speed = _speed_term(v)
    energy = WEIGHTS["energy"] * np.sum(action**2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(v) > 0, x / v, 0.0)
    try:
        scale = 1.0 / math.sqrt(2.0)
    except ZeroDivisionError:
        scale = 1.0
    square = lambda z: z * z  # noqa: E731
    dir = np.sign(v)  # shadows a forbidden builtin: fine, it is a local variable
    extra = {f"t{i}": 0.0 * x for i in range(2)}
    print("debug", speed.shape)
    total = speed + shaped(x) * scale - energy + 0.0 * ratio + 0.0 * square(dir)
    total = total + 0.0 * la.norm(action, axis=-1) + 0.0 * norm(action, axis=-1)
    return total, {"speed": speed, "energy": -energy, **extra}
'''


def wrap(body: str) -> str:
    """A module whose offending line is line 4 (after the import and the def line)."""
    return (
        "import numpy as np\n\ndef compute_reward(x, v, action):\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        + "\n    return x, {'x': x}\n"
    )


def test_good_code_passes() -> None:
    assert check_source(GOOD, PARAMS) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("import os", ["line 4", "import os", "only import numpy and math", "Fix"]),
        ("from numpy import load", ["line 4", "numpy.load", "files"]),
        ("y = getattr(x, 'shape')", ["line 4", "`getattr`", "not allowed"]),
        ("y = eval('1')", ["line 4", "`eval`"]),
        ("y = open('/etc/passwd')", ["line 4", "`open`"]),
        ("y = __import__('os')", ["line 4", "`__import__`", "two underscores"]),
        ("y = x.__class__", ["line 4", "`.__class__`", "underscore"]),
        ("y = np._core", ["line 4", "np._core", "underscore"]),
        ("y = type(x)", ["line 4", "`type`"]),
        ("class A:\n    pass", ["line 4", "class definitions"]),
        ("global G", ["line 4", "`global`"]),
        ("def g():\n    nonlocal x", ["line 5", "`nonlocal`"]),
        ("def g():\n    yield 1", ["line 5", "yield"]),
        ("async def g():\n    pass", ["line 4", "async"]),
        ("with open('f') as fh:\n    pass", ["line 4", "`with` may only be used with"]),
        ("try:\n    y = 1\nexcept:\n    y = 0", ["line 6", "bare `except:`"]),
        ("y = np.random.rand(3)", ["line 4", "np.random", "deterministic"]),
        ("np.save('f.npy', x)", ["line 4", "np.save", "files"]),
        ("y = x.tofile('f')", ["line 4", "`.tofile`", "writes a file"]),
        ("y = np.lib.stride_tricks", ["line 4", "np.lib", "submodules"]),
        ("np.sum = None", ["line 4", "assigning", "np.sum"]),
        ("np.typecodes['All'] = ''", ["line 4", "assigning", "np.typecodes['All']"]),
        ("m = np", ["line 4", "`np` may only be used as `np.<name>`"]),
        ("y = np.clamp(x, 0, 1)", ["line 4", "np.clamp", "does not exist", "np.clip"]),
        ("g = (i for i in x).gi_frame", ["line 4", "`.gi_frame`", "frames"]),
        ("y = '{0.__class__}'.format(x)", ["line 4", "`.format`", "f-string"]),
        ("import math", ["line 4", "top of the module"]),
        ("y = chr(65)", ["line 4", "builtin `chr`", "not available"]),
        ("y = undefined_name + 1", ["line 4", "`undefined_name` is not defined"]),
    ],
)
def test_each_forbidden_construct_is_named_with_its_line(body: str, expected: list[str]) -> None:
    problems = check_source(wrap(body), PARAMS)
    assert problems, f"no problem reported for {body!r}"
    joined = "\n".join(problems)
    for fragment in expected:
        assert fragment in joined, f"{fragment!r} missing from {problems}"


def test_several_problems_are_reported_at_once() -> None:
    source = textwrap.dedent(
        """\
        import os
        import numpy as np

        def compute_reward(x, height, *rest):
            y = eval("1")
            z = np.random.rand(3)
            w = np.random.rand(3)
            return x, {}
        """
    )
    problems = check_source(source, PARAMS)
    assert problems[0].startswith("line 1: `import os`")
    assert any("parameter `height`" in p and "x, v, action" in p for p in problems)
    assert any("`*rest`" in p for p in problems)
    assert any(p.startswith("line 5: `eval`") for p in problems)
    # The same mistake on two lines is one problem naming both lines.
    random = [p for p in problems if "np.random" in p]
    assert len(random) == 1 and random[0].startswith("lines 6, 7:")
    assert len(problems) == 5


def test_syntax_error_names_the_line() -> None:
    problems = check_source("def compute_reward(x):\n    return x +\n", PARAMS)
    assert len(problems) == 1
    assert problems[0].startswith("line 2: the code does not parse (SyntaxError")


def test_entry_point_rules() -> None:
    missing = check_source("import numpy as np\ndef reward(x):\n    return x, {}\n", PARAMS)
    assert len(missing) == 1 and "no top-level function `compute_reward`" in missing[0]
    no_params = check_source("def compute_reward():\n    return 1.0, {}\n", PARAMS)
    assert "takes no parameters" in no_params[0]
    typo = check_source("def compute_reward(x, vv):\n    return x, {}\n", PARAMS)
    assert "`vv`" in typo[0] and "did you mean `v`" in typo[0]
    kwargs = check_source("def compute_reward(x, **fields):\n    return x, {}\n", PARAMS)
    assert "`**fields`" in kwargs[0]


def test_field_used_without_being_a_parameter() -> None:
    problems = check_source("def compute_reward(x):\n    return x + v, {}\n", PARAMS)
    assert problems == [
        "line 2: `v` is a state field but not a parameter of compute_reward. Fix: add `v` to "
        "compute_reward's parameters (and pass it to helpers as an argument)"
    ]


def test_type_hint_imports() -> None:
    hinted = (
        "from __future__ import annotations\nfrom typing import Dict, Tuple\nimport numpy as np\n"
        "def compute_reward(x: np.ndarray) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:\n"
        "    return x, {'x': x}\n"
    )
    assert check_source(hinted, PARAMS) == []
    problems = check_source("import typing\nfrom typing import cast\n" + wrap("pass"), PARAMS)
    assert problems[0].startswith("line 1: `import typing` is not allowed")
    assert "from typing import Dict, Tuple" in problems[0]
    assert problems[1].startswith("line 2: `from typing import cast` is not allowed")


def test_local_containers_may_be_changed() -> None:
    assert check_source(wrap("d = {}\nd['a'] = x\nx[0] = 1.0\ndel d['a']"), PARAMS) == []


def test_modules_named_by_untrusted_code_are_never_imported() -> None:
    assert "this" not in sys.modules  # `import this` prints the Zen of Python
    problems = check_source("import this\n" + wrap("y = this.s"), PARAMS)
    assert any("import this" in p for p in problems)
    assert "this" not in sys.modules
