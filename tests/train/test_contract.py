"""The reward contract: valid outputs pass, each broken output gets its own message."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from rewardsmith.train.contract import (
    RewardContractError,
    call_reward,
    is_reward_input,
    previous_field,
    reward_parameters,
)

N = 4
FIELDS = {"x": np.arange(N, dtype=float), "v": np.linspace(-1.0, 1.0, N)}
ACTION = np.ones((N, 2))


def call(fn: Callable[..., Any], params: list[str] | None = None) -> tuple[np.ndarray, dict]:
    return call_reward(fn, FIELDS, ACTION, params or ["x", "v", "action"])


def test_valid_output_is_returned_as_float64() -> None:
    def fn(x: np.ndarray, v: np.ndarray, action: np.ndarray) -> tuple:
        energy = np.sum(action**2, axis=-1)
        return v - 0.1 * energy, {"speed": v, "energy": -0.1 * energy, "bonus": 1, "ok": x > 1}

    reward, parts = call(fn)
    assert reward.dtype == np.float64 and reward.shape == (N,)
    np.testing.assert_allclose(reward, FIELDS["v"] - 0.2)
    assert list(parts) == ["speed", "energy", "bonus", "ok"]
    np.testing.assert_array_equal(parts["bonus"], np.ones(N))  # numbers broadcast to (n,)
    np.testing.assert_array_equal(parts["ok"], [0.0, 0.0, 1.0, 1.0])


def test_only_named_parameters_are_passed_and_output_does_not_alias_inputs() -> None:
    reward, _ = call(lambda v: (v, {"v": v}), ["v"])
    reward[:] = 99.0
    assert FIELDS["v"][0] == -1.0


def test_list_pair_is_accepted() -> None:
    reward, parts = call(lambda x: [x, {}], ["x"])
    assert reward.shape == (N,) and parts == {}


@pytest.mark.parametrize(
    ("fn", "fragments"),
    [
        (lambda x: x, ["must return a pair (reward, components)", "only an array of shape (4,)"]),
        (lambda x: (x, {}, 1), ["a tuple of 3 values"]),
        (lambda x: None, ["a NoneType"]),
        (lambda x: (np.sum(x), {}), ["single number", "(4,)", "axis=-1"]),
        (lambda x: (x[:, None], {}), ["shape (4, 1)", "must be (4,)"]),
        (lambda x: (np.ones((N, 3)), {}), ["shape (4, 3)", "one value per env"]),
        (lambda x: (np.ones(N + 1), {}), ["shape (5,)"]),
        (lambda x: ("high", {}), ["the reward must be numbers", "str"]),
        (lambda x: (x, [x]), ["must be a dict of named reward terms", "list"]),
        (lambda x: (x, {1: x}), ["component names must be strings", "1 (int)"]),
        (lambda x: (x, {"speed": np.ones((N, 2))}), ["component 'speed' has shape (4, 2)"]),
        (lambda x: (x / 0.0, {}), ["the reward is not finite (inf/nan) for 4 of 4 envs"]),
        (lambda x: (x, {"log": np.log(x - 1.0)}), ["component 'log' is not finite"]),
        # A cast to float would keep the real part and drop the rest without a word.
        (lambda x: (np.sqrt(x.astype(complex) - 9), {}), ["the reward is complex"]),
        (lambda x: (x, {"root": x.astype(np.complex64)}), ["component 'root' is complex"]),
    ],
)
def test_each_broken_output_has_its_message(fn: Callable[..., Any], fragments: list[str]) -> None:
    with np.errstate(all="ignore"), pytest.raises(RewardContractError) as info:
        call(fn, ["x"])
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_non_finite_error_names_the_rows() -> None:
    with pytest.raises(RewardContractError) as info:
        call(lambda x: (np.where(x == 2, np.nan, x), {}), ["x"])
    assert info.value.rows == [2]
    assert "(nan) for 1 of 4 envs" in str(info.value)


def test_unknown_parameter() -> None:
    with pytest.raises(RewardContractError, match="'height', which is not a state field"):
        call(lambda height: (height, {}), ["height"])


def test_exceptions_from_the_reward_propagate_unchanged() -> None:
    def fn(x: np.ndarray) -> tuple:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        call(fn, ["x"])


def test_reward_parameters() -> None:
    source = "def helper(a):\n    return a\n\ndef compute_reward(x, v, *, action):\n    pass\n"
    assert reward_parameters(source) == ["x", "v", "action"]
    with pytest.raises(RewardContractError, match="no top-level function compute_reward"):
        reward_parameters("def reward(x):\n    pass\n")
    with pytest.raises(RewardContractError, match="does not parse"):
        reward_parameters("def compute_reward(x:\n")


def test_prev_names_read_a_field_one_step_back_and_nothing_else() -> None:
    inputs = ("x", "legs", "action")
    assert previous_field("prev_x") == "x" and previous_field("x") is None
    assert previous_field("prev_") is None
    assert is_reward_input("prev_x", inputs) and is_reward_input("prev_legs", inputs)
    assert not is_reward_input("prev_action", inputs)  # the action is given, not a state
    assert not is_reward_input("prev_y", inputs) and not is_reward_input("prev_prev_x", inputs)
    fields = {"x": np.ones(2), "prev_x": np.zeros(2)}
    moved = lambda x, prev_x: (x - prev_x, {})  # noqa: E731
    reward, _ = call_reward(moved, fields, np.zeros(2), ["x", "prev_x"])
    assert reward.tolist() == [1.0, 1.0]
    with pytest.raises(RewardContractError, match=r"available: x, action, and prev_<field>"):
        call_reward(lambda prev_y: (prev_y, {}), fields, np.zeros(2), ["prev_y"])
