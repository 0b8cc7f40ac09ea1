"""The cost of one checkpoint's evaluation: envs side by side, one per episode or fewer.

Every training measures fitness at its checkpoints by playing the preset's evaluation
episodes deterministically on a vector of envs. The vector steps every env until the
last episode ends, so with fewer envs than episodes (10 episodes on CartPole's 8 training
envs) it plays a second round of long episodes while the envs that have done their share
step for nothing. This trains one policy per task with the native reward, then times the
same evaluation with the two layouts, interleaved in rounds so machine noise hits both:

* ``before``: as many envs as the training has, at most one per episode;
* ``now``: one env per episode (``rewardsmith.train.ppo.eval_envs``).

Prints the median seconds of each, their ratio, the env steps each played against those
the episodes counted, and both mean fitnesses (other start states: close, not equal).

    python bench/eval_speed.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from rewardsmith.envs.registry import get_task
from rewardsmith.envs.spec import PPOPreset, TaskSpec
from rewardsmith.train.evaluate import evaluate_policy
from rewardsmith.train.ppo import EVAL_SEED_OFFSET, build_ppo_kwargs, eval_envs
from rewardsmith.train.spaces import policy_name
from rewardsmith.train.vec import make_vec_env

#: Tasks whose ``quick`` preset has more evaluation episodes than training envs, and how
#: long to train a policy whose episodes are long enough to show the difference.
TASKS = {"CartPole-v1": 30_000, "Pendulum-v1": 20_000, "InvertedPendulum-v5": 20_000}


@dataclass
class Layout:
    """One way to lay out the evaluation episodes: its name and env count."""

    name: str
    n_envs: int


class _Counted(VecEnvWrapper):
    """Counts the vector's steps (each steps every env)."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.steps = 0

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        self.steps += 1
        return self.venv.step_wait()


def _train(spec: TaskSpec, preset: PPOPreset, steps: int, seed: int) -> Any:
    # Without VecNormalize (none of these presets uses it): the evaluation envs need no
    # statistics carried over.
    venv = make_vec_env(spec, None, preset.n_envs, seed, "native")
    policy = policy_name(venv.observation_space)
    model = PPO(policy, venv, seed=seed, device="cpu", verbose=0, **build_ppo_kwargs(preset))
    model.learn(steps)
    return model


def _time(model: Any, spec: TaskSpec, preset: PPOPreset, layout: Layout) -> tuple[float, Any, int]:
    seed = EVAL_SEED_OFFSET
    venv = _Counted(make_vec_env(spec, None, layout.n_envs, seed, "native", training=False))
    start = time.perf_counter()
    result = evaluate_policy(model, venv, preset.eval_episodes, seed)
    seconds = time.perf_counter() - start
    venv.close()
    return seconds, result, venv.steps * layout.n_envs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"{'task':<22}{'episodes':>9}{'layout':>8}{'envs':>6}{'median s':>10}"
        f"{'env steps':>11}{'counted':>9}{'fitness':>10}"
    )
    for task_id, train_steps in TASKS.items():
        spec = get_task(task_id)
        preset = spec.preset("quick")
        layouts = [
            Layout("before", min(preset.eval_episodes, preset.n_envs)),
            Layout("now", eval_envs(preset)),
        ]
        model = _train(spec, preset, train_steps, args.seed)
        times: dict[str, list[float]] = {layout.name: [] for layout in layouts}
        results: dict[str, tuple[Any, int]] = {}
        for _ in range(args.rounds):
            for layout in layouts:
                seconds, result, played = _time(model, spec, preset, layout)
                times[layout.name].append(seconds)
                results[layout.name] = result, played
        for layout in layouts:
            result, played = results[layout.name]
            counted = sum(result.lengths)
            fitness = statistics.fmean(result.fitness)
            print(
                f"{task_id:<22}{preset.eval_episodes:>9}{layout.name:>8}{layout.n_envs:>6}"
                f"{statistics.median(times[layout.name]):>10.3f}{played:>11}"
                f"{counted:>9}{fitness:>10.1f}"
            )
        ratio = statistics.median(times["now"]) / statistics.median(times["before"])
        print(f"{task_id:<22} now/before: {ratio:.2f}")


if __name__ == "__main__":
    main()
