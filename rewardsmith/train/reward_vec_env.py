"""The VecEnv wrapper that replaces the env reward with a candidate's ``compute_reward``.

One call per vector step (not per env): the fields every env put into ``info["fields"]``
are stacked into ``(n, *shape)`` arrays, so the reward's numpy code runs once for the
whole batch and its cost stays small next to the simulator's.
"""

from __future__ import annotations

import ctypes
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewardsmith.train.contract import RewardContractError, call_reward, previous_field

#: Vector steps between speed checks: early enough for short trainings (a 2000-step
#: CartPole run has 250), cheap (one integer test per step).
SPEED_CHECK_EVERY = 128
#: Reward time per vector step that is never called too slow. On a very cheap simulator
#: (8 CartPole steps take ~0.1 ms) a sound numpy reward costs as much as the env, and on a
#: loaded machine ~0.2 ms a call: the floor keeps those training, while a reward that
#: loops in Python over the batch (several ms a call) is still stopped.
MIN_CALL_BUDGET_SECONDS = 2e-3


class RewardTooSlowError(RuntimeError):
    """The reward costs too much time next to the simulator."""


class _RewardCallTimeout(BaseException):
    """Raised into a reward call that ran too long.

    Not an ``Exception``, so reward code (which can neither name ``BaseException`` nor use
    a bare ``except:``) cannot swallow it.
    """


class _CallWatchdog:
    """A daemon thread that interrupts the stepping thread when one reward call hangs.

    The stepping thread only stores the call's start time (``since``) before and 0.0
    after each call: two attribute writes per step. The thread ends with its owner.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.since = 0.0
        self.stopped = False
        self._target = threading.get_ident()
        thread = threading.Thread(
            target=_watch, args=(weakref.ref(self),), name="reward-watchdog", daemon=True
        )
        thread.start()

    def poll(self) -> float:
        """Interrupt a call running past the limit; return the seconds until the next poll."""
        since = self.since
        if since and time.perf_counter() - since > self.limit:
            self.since = 0.0
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._target), ctypes.py_object(_RewardCallTimeout)
            )
        return min(1.0, self.limit / 4)


def _watch(ref: weakref.ref[_CallWatchdog]) -> None:
    while True:
        dog = ref()
        if dog is None or dog.stopped:
            return
        pause = dog.poll()
        del dog  # hold no reference while sleeping, so the owner can be collected
        time.sleep(pause)


def _sources(params: Sequence[str], fields: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """Where each parameter's values come from: ``(name, info key, field name)``.

    A field whose own name starts with ``prev_`` is that field, not a previous value.
    """
    sources = []
    for name in params:
        if name == "action":
            continue
        base = previous_field(name)
        if name in fields or base is None:
            sources.append((name, "fields", name))
        else:
            sources.append((name, "prev_fields", base))
    return tuple(sources)


class RewardVecEnv(VecEnvWrapper):
    """Compute rewards with ``reward_fn`` from stacked state fields.

    Args:
        venv: Vector env whose envs are :class:`~rewardsmith.envs.wrapper.TaskWrapper`.
        reward_fn: The candidate's ``compute_reward``.
        params: Its parameter names (state fields and possibly ``action``).
        max_time_fraction: Stop training (``RewardTooSlowError``) when the reward's time
            exceeds this fraction of the env's own stepping time over a window of steps.
        max_call_seconds: Stop training (``RewardTooSlowError``) when a single call runs
            longer than this, e.g. a loop that never ends; checked by a watchdog thread.
    """

    def __init__(
        self,
        venv: VecEnv,
        reward_fn: Callable[..., Any],
        params: Sequence[str],
        max_time_fraction: float = 1.0,
        max_call_seconds: float = 10.0,
    ) -> None:
        super().__init__(venv)
        self.reward_fn = reward_fn
        self.params = tuple(params)
        # (parameter, info key, field): prev_<field> reads the wrapper's "prev_fields".
        self._sources: tuple[tuple[str, str, str], ...] | None = None
        self.max_time_fraction = max_time_fraction
        self._actions: np.ndarray | None = None
        self._sums: dict[str, float] = {}
        self._count = 0
        self._steps = 0
        self.reward_seconds = 0.0
        self.env_seconds = 0.0
        self._step_started = 0.0
        # The speed check looks at windows of SPEED_CHECK_EVERY steps (see _check_speed).
        self._window_reward = 0.0
        self._window_env = 0.0
        self._window_longest = 0.0
        self._watchdog = _CallWatchdog(max_call_seconds)

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the actions: the reward may read them."""
        self._actions = np.asarray(actions)
        self._step_started = time.perf_counter()
        self.venv.step_async(actions)

    def reset(self) -> Any:
        """Reset all envs."""
        return self.venv.reset()

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step the envs, then compute the candidate's reward for the whole batch."""
        obs, _native, dones, infos = self.venv.step_wait()
        started = time.perf_counter()
        env_time = started - self._step_started
        self.env_seconds += env_time
        self._window_env += env_time
        if self._sources is None:
            self._sources = _sources(self.params, infos[0]["fields"])
        fields = {
            name: np.asarray([info[key][field] for info in infos], dtype=np.float64)
            for name, key, field in self._sources
        }
        assert self._actions is not None
        watchdog = self._watchdog
        watchdog.since = started
        try:
            reward, components = call_reward(self.reward_fn, fields, self._actions, self.params)
        except _RewardCallTimeout:
            raise RewardTooSlowError(
                f"one call of the reward ran for more than {watchdog.limit:g} s and was "
                "stopped; remove loops that may not end and vectorise it with numpy"
            ) from None
        finally:
            watchdog.since = 0.0
        call_time = time.perf_counter() - started
        self.reward_seconds += call_time
        self._window_reward += call_time
        if call_time > self._window_longest:
            self._window_longest = call_time
        # Sums now, means when asked: ndarray.sum is ~3x cheaper than np.mean per step.
        for name, value in components.items():
            self._sums[name] = self._sums.get(name, 0.0) + value.sum()
        self._sums["__reward__"] = self._sums.get("__reward__", 0.0) + reward.sum()
        self._count += 1
        self._steps += 1
        if self._steps % SPEED_CHECK_EVERY == 0:
            self._check_speed()
        return obs, reward.astype(np.float32), dones, infos

    def _check_speed(self) -> None:
        """Judge the last window of steps; reset it.

        The longest single call of the window is left out: on a loaded machine one call
        can be stalled by the scheduler for tens of milliseconds, and that must not fail
        a cheap reward (a single hung call is the watchdog's business).
        """
        spent = self._window_reward - self._window_longest
        budget = max(
            self.max_time_fraction * self._window_env,
            MIN_CALL_BUDGET_SECONDS * SPEED_CHECK_EVERY,
        )
        env_time = self._window_env
        self._window_reward = self._window_env = self._window_longest = 0.0
        if spent > budget:
            raise RewardTooSlowError(
                f"the reward took {spent:.3f} s against {env_time:.3f} s of env stepping over "
                f"{SPEED_CHECK_EVERY} steps (limit: {self.max_time_fraction:.0%} of the env's "
                "time); vectorise it with numpy over the batch axis and avoid Python loops"
            )

    def close(self) -> None:
        """Close the envs and stop the watchdog thread."""
        self._watchdog.stopped = True
        self.venv.close()

    def pop_component_means(self) -> dict[str, float]:
        """Mean of each component (and ``__reward__``, the total) since the last call; resets."""
        if self._count == 0:
            return {}
        per = self._count * self.num_envs
        means = {name: float(total) / per for name, total in self._sums.items()}
        self._sums = {}
        self._count = 0
        return means


__all__ = ["RewardContractError", "RewardTooSlowError", "RewardVecEnv"]
