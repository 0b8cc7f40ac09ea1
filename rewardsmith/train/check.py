"""The critic's dynamic check; runs inside the sandboxed worker (``kind="check"``).

The candidate reward is loaded with restricted builtins and called on recorded
transitions of random play, ``n_envs`` at a time, exactly as training will call it.
Every distinct failure becomes one readable problem: exceptions with the line of reward
code that raised, broken outputs with the inputs that produced them, a reward that never
changes, missing components, and a reward too slow next to the simulator.
"""

from __future__ import annotations

import re
import time
import traceback
from typing import Any

import numpy as np

from rewardsmith.sandbox.loader import REWARD_FILENAME, load_reward
from rewardsmith.train.contract import (
    PREVIOUS_HINT,
    RewardContractError,
    call_reward,
    is_reward_input,
    previous_field,
    reward_parameters,
)

#: Failed batches after which the check stops calling the reward.
MAX_FAILED_BATCHES = 5
#: Rewards kept from the shared transitions so the loop can compare candidates' rewards.
SAMPLE_SIZE = 512
#: Largest reward a step may pay on random play. Native rewards pay at most a few hundred
#: (HumanoidStandup's 333 a metre of height); nothing a designer means needs 1e9.
MAX_REWARD_MAGNITUDE = 1e9


def _code_line(source: str, lineno: int) -> str:
    lines = source.splitlines()
    return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""


def _describe_exception(exc: BaseException, source: str) -> tuple[str, str]:
    """Return ``(key, text)``: the key identifies the same failure across batches."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == REWARD_FILENAME]
    where = ""
    lineno: int | None = None
    if frames:
        lineno = frames[-1].lineno
    elif isinstance(exc, SyntaxError) and exc.filename == REWARD_FILENAME:
        lineno = exc.lineno
    if lineno:
        where = f" at line {lineno}"
        code = _code_line(source, lineno)
        if code:
            where += f" (`{code}`)"
    message = " ".join(str(exc).split())[:300]
    key = f"{type(exc).__name__}:{lineno}:{message}"
    return key, f"{type(exc).__name__}: {message}{where}"


def _format_inputs(
    row: int, fields: dict[str, np.ndarray], action: np.ndarray, params: list[str]
) -> str:
    parts = []
    for name in params:
        source = action if name == "action" else fields.get(name)
        if source is None:
            continue
        value = np.asarray(source[row])
        text = np.array2string(value, precision=4, threshold=6, separator=", ")
        parts.append(f"{name}={text}")
    return ", ".join(parts)[:300]


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "min": float(values.min()),
        "mean": float(values.mean()),
        "max": float(values.max()),
        "std": float(values.std()),
    }


def _batches(total: int, n_envs: int) -> list[tuple[int, int]]:
    if total <= n_envs:
        return [(0, total)]
    return [(start, start + n_envs) for start in range(0, total - n_envs + 1, n_envs)]


def _state_problem(
    fn: Any,
    params: list[str],
    batch: dict[str, np.ndarray],
    action: np.ndarray,
    first: np.ndarray,
) -> str:
    """Why the reward is not a function of its arguments ("" if it is).

    The first batch is called again after every other: the same values must give the same
    rewards as ``first`` (the contract checked both are finite and of one shape).
    """
    try:
        with np.errstate(all="ignore"):
            again, _ = call_reward(fn, batch, action, params)
    except Exception:
        return ""  # a failure here shows in the calls before it
    # A tolerance for threaded reductions that may sum in another order; kept state moves
    # a reward by far more.
    same = np.isclose(again, first, rtol=1e-9, atol=1e-12)
    if same.all():
        return ""
    row = int(np.flatnonzero(~same)[0])
    return (
        f"compute_reward gave transition {row} the reward {float(first[row]):.6g}, "
        f"and {float(again[row]):.6g} when called again on the same values: it keeps state "
        "between calls (a module-level list or dict it changes). A reward must be a "
        "function of its arguments alone: compute everything from them in each call"
    )


class _Failures:
    """Distinct failures with how often each happened, in the order first seen."""

    def __init__(self) -> None:
        self.items: dict[str, list[Any]] = {}
        self.batches = 0

    def add(self, key: str, text: str) -> None:
        self.batches += 1
        entry = self.items.setdefault(key, [text, 0])
        entry[1] += 1

    def messages(self, calls: int) -> list[str]:
        return [
            text if count == 1 else f"{text} (in {count} of {calls} batches tried)"
            for text, count in self.items.values()
        ]


def _slow_problem(
    per_call: float, n_envs: int, step_seconds: float, fraction: float, floor: float
) -> str | None:
    env_time = n_envs * step_seconds
    budget = max(fraction * env_time, floor)
    if per_call <= budget:
        return None
    return (
        f"the reward is too slow: one call for a batch of {n_envs} envs takes "
        f"{per_call * 1e3:.3f} ms, while {n_envs} env steps take {env_time * 1e3:.3f} ms; "
        f"the limit is {budget * 1e3:.3f} ms ({fraction:.0%} of the env's step time, at "
        f"least {floor * 1e3:.3f} ms). Vectorise it: replace Python loops over envs or "
        "elements with numpy operations on the whole batch"
    )


def run_check(job: dict[str, Any]) -> dict[str, Any]:
    """Call the candidate reward on recorded transitions and report every problem.

    Args:
        job: ``source`` (reward code), ``params`` (allowed parameter names),
            ``transitions`` (an ``.npz`` in the cwd: one array per field plus ``action``,
            first axis the transitions, and optionally a scalar ``step_seconds``),
            ``n_envs`` (batch size per call). Optional: ``slow_fraction`` (0.25: share of
            the env step time the reward may take), ``min_call_budget_seconds`` (5e-4:
            the time a call may always take), ``max_seconds`` (5: stop calling after
            this much reward time).

    Returns:
        ``problems`` (readable strings; empty when the reward passed), ``components``
        (names), ``per_call_seconds`` (median), ``reward_stats`` and ``component_stats``
        (min/mean/max/std), ``calls``, ``transitions`` (checked), ``reward_sample`` (the
        reward on the first :data:`SAMPLE_SIZE` transitions, for deduplication) and
        ``files`` (none).

    """
    source: str = job["source"]
    n_envs = max(1, int(job.get("n_envs", 8)))
    fraction = float(job.get("slow_fraction", 0.25))
    floor = float(job.get("min_call_budget_seconds", 5e-4))
    max_seconds = float(job.get("max_seconds", 5.0))
    allowed = list(job.get("params", []))

    with np.load(job["transitions"], allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    step_seconds = float(arrays.pop("step_seconds")) if "step_seconds" in arrays else None
    action = arrays.pop("action")
    fields = arrays

    report: dict[str, Any] = {
        "problems": [],
        "components": [],
        "per_call_seconds": None,
        "reward_stats": {},
        "component_stats": {},
        "calls": 0,
        "transitions": 0,
        "files": [],
    }
    problems: list[str] = report["problems"]

    try:
        params = reward_parameters(source)
    except RewardContractError as exc:
        problems.append(str(exc))
        return report
    for name in params:
        base = previous_field(name)
        if name not in fields and base in fields:
            # Transitions recorded before prev_<field> existed: no step back to show.
            fields[name] = fields[base]
    unknown = [
        p
        for p in params
        if (allowed and not is_reward_input(p, allowed)) or (p != "action" and p not in fields)
    ]
    if unknown:
        known = ", ".join(allowed) or ", ".join([*fields, "action"])
        problems.append(
            f"compute_reward takes {', '.join(map(repr, unknown))}, which this task does not "
            f"provide; available: {known}, and {PREVIOUS_HINT}"
        )
        return report
    try:
        fn = load_reward(source)
    except Exception as exc:  # any failure of the module's own top-level code
        _, text = _describe_exception(exc, source)
        problems.append(f"loading the reward code failed with {text}")
        return report

    failures = _Failures()
    # The first batch, its actions and its reward: called again below.
    first: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None = None
    times: list[float] = []
    rewards: list[np.ndarray] = []
    components: dict[str, list[np.ndarray]] = {}
    names_seen: list[tuple[str, ...]] = []
    spent = 0.0
    calls = 0
    with np.errstate(all="ignore"):  # non-finite results are reported, warnings add nothing
        for start, stop in _batches(len(action), n_envs):
            batch = {name: values[start:stop] for name, values in fields.items()}
            began = time.perf_counter()
            calls += 1
            try:
                reward, parts = call_reward(fn, batch, action[start:stop], params)
            except RewardContractError as exc:
                text = str(exc)
                if exc.rows:
                    row = exc.rows[0]
                    inputs = _format_inputs(row, batch, action[start:stop], params)
                    text += f"; e.g. at transition {start + row}: {inputs}"
                # The same broken output differs between batches only in its counts.
                failures.add(re.sub(r"\d+", "#", str(exc)), text)
                if not exc.rows:
                    # Wrong shape, a runaway components dict: the output's structure, not
                    # one value, is broken, and more calls only spend the check's CPU
                    # limit (a 10**6-key dict per call ran into it under load).
                    break
            except Exception as exc:  # the candidate's own error, reported with its line
                key, text = _describe_exception(exc, source)
                failures.add(key, f"compute_reward raised {text} on transitions {start}-{stop - 1}")
            else:
                times.append(time.perf_counter() - began)
                if start == 0:
                    first = (batch, action[start:stop], reward)
                rewards.append(reward)
                names_seen.append(tuple(parts))
                for name, values in parts.items():
                    components.setdefault(name, []).append(values)
            spent += time.perf_counter() - began
            if failures.batches >= MAX_FAILED_BATCHES or spent >= max_seconds:
                break

    problems.extend(failures.messages(calls))
    if first is not None and not failures.batches:
        changed = _state_problem(fn, params, *first)
        if changed:
            problems.append(changed)
    report["calls"] = calls
    if not rewards:
        return report

    all_rewards = np.concatenate(rewards)
    report["transitions"] = int(all_rewards.size)
    report["reward_stats"] = _stats(all_rewards)
    report["components"] = list(components)
    report["component_stats"] = {k: _stats(np.concatenate(v)) for k, v in components.items()}
    report["per_call_seconds"] = float(np.median(times))
    sample = all_rewards[:SAMPLE_SIZE].astype(np.float64)
    if np.all(np.isfinite(sample)):
        report["reward_sample"] = [float(f"{v:.7g}") for v in sample]

    mean = float(all_rewards.mean())
    largest = float(np.max(np.abs(all_rewards)))
    if largest > MAX_REWARD_MAGNITUDE:
        problems.append(
            f"the reward reaches {largest:.3g} in a step of random play (the limit is "
            f"{MAX_REWARD_MAGNITUDE:.0e}): PPO's value loss grows with the square of the "
            "returns, and past about 1e36 they overflow the float32 buffers it trains from. "
            "Scale the terms to roughly -1 to 1 a step (divide by a named constant)"
        )
    if float(np.ptp(all_rewards)) <= 1e-9 * max(1.0, abs(mean)):
        problems.append(
            f"the reward is the same value ({mean:.6g}) on all {all_rewards.size} transitions "
            "of random play, so PPO gets no signal to learn from. Make it depend on the state: "
            "add a dense shaping term that changes as the agent moves toward the goal"
        )
    if not components:
        problems.append(
            "compute_reward returns no components: return a dict of the named terms that make "
            'up the reward (e.g. {"speed": speed, "energy": -energy}), so training can report '
            "each term and the next iteration can see what each one did"
        )
    elif len(set(names_seen)) > 1:
        variants = " vs ".join(str(list(v)) for v in dict.fromkeys(names_seen))
        problems.append(
            f"the component names change between calls ({variants}); return the same keys "
            "every time (use 0.0 for a term that does not apply)"
        )
    if step_seconds is not None and step_seconds > 0:
        slow = _slow_problem(report["per_call_seconds"], n_envs, step_seconds, fraction, floor)
        if slow:
            problems.append(slow)
    return report
