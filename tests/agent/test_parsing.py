"""extract_code: every way a model may wrap (or not wrap) its reward code."""

from __future__ import annotations

import ast

from rewardsmith.agent.parsing import extract_code

REWARD = """import numpy as np


def compute_reward(x_velocity, action):
    speed = x_velocity
    return speed, {"speed": speed}
"""


def _defines_reward(source: str) -> bool:
    tree = ast.parse(source)
    return any(isinstance(n, ast.FunctionDef) and n.name == "compute_reward" for n in tree.body)


def test_python_fence_with_prose_around() -> None:
    text = f"Here is my reward.\n\n```python\n{REWARD}```\n\nThis rewards speed."
    assert extract_code(text) == [REWARD]


def test_bare_fence_and_py_tag_and_tilde_fence() -> None:
    for opening, closing in (("```", "```"), ("```py", "```"), ("~~~python", "~~~")):
        text = f"Answer:\n{opening}\n{REWARD}{closing}\n"
        assert extract_code(text) == [REWARD], opening


def test_unclosed_fence_takes_the_rest() -> None:
    text = f"```python\n{REWARD}"
    assert extract_code(text) == [REWARD]


def test_no_fences_takes_code_and_drops_trailing_prose() -> None:
    text = f"Sure! Below is the function.\n\n{REWARD}\nThis reward encourages running fast.\n"
    [source] = extract_code(text)
    assert source.startswith("import numpy as np")
    assert "encourages" not in source
    assert _defines_reward(source)


def test_no_compute_reward_gives_nothing() -> None:
    assert extract_code("I cannot help with that.") == []
    assert extract_code("```python\ndef other(x):\n    return x\n```") == []
    assert extract_code("") == []


def test_json_block_is_not_code() -> None:
    text = '```json\n{"a": 1}\n```\n\n```python\n' + REWARD + "```"
    assert extract_code(text) == [REWARD]


def test_helpers_from_an_earlier_block_are_kept_unrelated_ones_dropped() -> None:
    helper = "def _bounded(v):\n    return np.tanh(v)\n"
    unrelated = "def plot(x):\n    return x\n"
    main = (
        "def compute_reward(x_velocity):\n"
        "    speed = _bounded(x_velocity)\n"
        '    return speed, {"speed": speed}\n'
    )
    text = (
        f"Imports:\n```python\nimport numpy as np\n```\nA helper:\n```python\n{helper}```\n"
        f"Unused:\n```python\n{unrelated}```\nThe reward:\n```python\n{main}```\n"
    )
    [source] = extract_code(text)
    assert "import numpy as np" in source
    assert "def _bounded" in source
    assert "def plot" not in source
    assert source.index("def _bounded") < source.index("def compute_reward")
    namespace: dict = {}
    exec(compile(source, "<reward>", "exec"), namespace)
    assert callable(namespace["compute_reward"])


def test_two_versions_give_two_sources_in_order() -> None:
    second = REWARD.replace("speed = x_velocity", "speed = 2.0 * x_velocity")
    text = f"```python\n{REWARD}```\nBetter:\n```python\n{second}```"
    sources = extract_code(text)
    assert sources == [REWARD, second]


def test_indented_fence_is_dedented() -> None:
    indented = "".join(f"    {line}" if line.strip() else line for line in REWARD.splitlines(True))
    text = f"1. The code:\n    ```python\n{indented}    ```\n"
    [source] = extract_code(text)
    assert _defines_reward(source)


def test_broken_code_is_still_handed_over_for_the_critic() -> None:
    broken = "def compute_reward(x):\n    return x +\n"
    [source] = extract_code(f"```python\n{broken}```")
    assert "def compute_reward" in source
