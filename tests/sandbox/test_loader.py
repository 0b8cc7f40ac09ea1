"""The loader withholds unsafe builtins even when the policy is skipped."""

import traceback

import numpy as np
import pytest

from rewardsmith.sandbox.loader import REWARD_FILENAME, load_reward


def test_loads_a_reward_that_uses_numpy_and_math() -> None:
    fn = load_reward(
        "import math\nimport numpy as np\nfrom numpy.linalg import norm\n"
        "def compute_reward(x):\n    print('ignored')\n"
        "    return np.sum(x) * math.pi + norm(x), {}\n"
    )
    reward, parts = fn(np.array([3.0, 4.0]))
    assert reward == pytest.approx(7 * np.pi + 5.0)
    assert parts == {}


def test_print_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    load_reward("def compute_reward(x):\n    print('loud')\n    return x, {}\n")(1.0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("def compute_reward(x):\n    return __import__('os'), {}\n", ImportError),
        ("def compute_reward(x):\n    return open('/etc/passwd'), {}\n", NameError),
        ("def compute_reward(x):\n    return getattr(x, 'real'), {}\n", NameError),
        ("def compute_reward(x):\n    return eval('1'), {}\n", NameError),
        ("def compute_reward(x):\n    return __builtins__['open'], {}\n", KeyError),
        ("def compute_reward(x):\n    import subprocess\n    return x, {}\n", ImportError),
        ("def compute_reward(x):\n    import numpy.random\n    return x, {}\n", ImportError),
    ],
)
def test_unsafe_calls_fail_without_the_policy(source: str, error: type[Exception]) -> None:
    fn = load_reward(source)
    with pytest.raises(error):
        fn(1.0)


def test_unsafe_module_imports_fail_at_load() -> None:
    with pytest.raises(ImportError, match="only import numpy and math, not 'os'"):
        load_reward("import os\ndef compute_reward(x):\n    return x, {}\n")
    with pytest.raises(ImportError, match=r"not '\.sibling'"):
        load_reward("from .sibling import thing\n")


def test_typing_yields_only_type_hint_names() -> None:
    fn = load_reward(
        "from typing import Dict\nimport typing\n"
        "def compute_reward(x) -> Dict[str, float]:\n    return typing.sys, {}\n"
    )
    with pytest.raises(AttributeError, match="sys"):
        fn(1.0)


def test_missing_entry_point() -> None:
    with pytest.raises(LookupError, match="compute_reward"):
        load_reward("def reward(x):\n    return x, {}\n")


def test_tracebacks_point_into_the_reward_code() -> None:
    fn = load_reward("def compute_reward(x):\n    y = 1\n    return x / 0, {}\n")
    with pytest.raises(ZeroDivisionError) as info:
        fn(1.0)
    frames = [f for f in traceback.extract_tb(info.value.__traceback__)]
    assert (frames[-1].filename, frames[-1].lineno) == (REWARD_FILENAME, 3)


ARRAY_METHODS = """
import numpy as np

def compute_reward(x, action):
    y = x.clip(0.0, 5.0)
    total = x.sum(axis=1) + x.mean(axis=1) - x.std(axis=1) + x.max(axis=1) - x.min(axis=1)
    total = total + x.prod(axis=1) * 0.0 + x.var(axis=1) + y.any(axis=1) + y.all(axis=1)
    return total, {"shown": len(str(x)) + len(str(x[0, 0]))}
"""


def test_array_methods_work_in_a_fresh_process_where_reward_code_calls_them_first() -> None:
    """``x.sum()`` and its kin import a numpy helper on first use through the caller's
    ``__import__``; the critic's process calls them from reward code first, where the
    guard refused them (training worked: SB3 had called them already)."""
    import json
    import subprocess
    import sys

    from tests.helpers import REPO

    code = (
        "import json, numpy as np\n"
        "from rewardsmith.sandbox.loader import load_reward\n"
        f"fn = load_reward({ARRAY_METHODS!r})\n"
        "reward, parts = fn(np.arange(6.0).reshape(2, 3), None)\n"
        "print(json.dumps([float(r) for r in reward]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    x = np.arange(6.0).reshape(2, 3)
    expected = x.sum(1) + x.mean(1) - x.std(1) + x.max(1) - x.min(1) + x.var(1)
    expected += [1, 2]  # any() in both rows, all() only in the row without a 0
    assert json.loads(done.stdout) == pytest.approx(list(expected))
