"""PPO throughput with a synthesised reward through rewardsmith's wrappers vs the native reward.

Three set-ups train the same PPO (same env, seed, hyperparameters and steps), interleaved
in rounds so machine noise hits them alike:

* ``native``: the bare gymnasium env and its own reward (what a user would run anyway);
* ``fields``: the env inside ``TaskWrapper`` (state fields read every step), native reward;
* ``synth``:  ``TaskWrapper`` + ``RewardVecEnv`` calling a synthesised ``compute_reward``.

Prints steps/s of each and the ratios synth/native (target >= 0.97) and synth/fields.

    python bench/reward_overhead.py --env HalfCheetah-v5 --steps 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

REWARD = """
import numpy as np

def compute_reward(x_velocity, torso_height, action):
    speed = x_velocity
    upright = np.exp(-4.0 * (torso_height - 0.6) ** 2)
    energy = 0.05 * np.sum(action ** 2, axis=-1)
    return speed + 0.5 * upright - energy, {"speed": speed, "upright": upright, "energy": -energy}
"""


def _train(setup: str, env_id: str, steps: int, seed: int) -> float:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rewardsmith.envs.registry import get_task
    from rewardsmith.sandbox.loader import load_reward
    from rewardsmith.train.contract import reward_parameters
    from rewardsmith.train.ppo import build_ppo_kwargs
    from rewardsmith.train.vec import make_vec_env

    spec = get_task(env_id)
    preset = spec.preset("quick")
    n = preset.n_envs
    venv: Any
    if setup == "native":
        venv = DummyVecEnv([lambda: gym.make(spec.env_id) for _ in range(n)])
        venv.seed(seed)
    elif setup == "fields":
        venv = make_vec_env(spec, None, n, seed, "native")
    else:
        fn = load_reward(REWARD)
        venv = make_vec_env(spec, None, n, seed, "candidate", fn, reward_parameters(REWARD))
    kwargs = build_ppo_kwargs(preset)
    model = PPO("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **kwargs)
    model.set_logger(Logger(folder=None, output_formats=[]))
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    elapsed = time.perf_counter() - started
    venv.close()
    return model.num_timesteps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    os.chdir(tempfile.mkdtemp(prefix="rs-bench-"))  # MuJoCo writes its log into the cwd
    setups = ("native", "fields", "synth")
    rates: dict[str, list[float]] = {s: [] for s in setups}
    for r in range(args.rounds):
        # Rotate the order each round so warm-up and drift do not favour one set-up.
        for setup in setups[r % 3 :] + setups[: r % 3]:
            rates[setup].append(_train(setup, args.env, args.steps, args.seed))
            print(f"round {r}: {setup:6s} {rates[setup][-1]:8.0f} steps/s", flush=True)
    med = {s: statistics.median(v) for s, v in rates.items()}
    print(f"\n{args.env}, {args.steps} steps x {args.rounds} rounds (median steps/s)")
    for s in setups:
        print(f"  {s:6s} {med[s]:8.0f}")
    print(f"synth / native = {med['synth'] / med['native']:.3f}   (target >= 0.97)")
    print(f"synth / fields = {med['synth'] / med['fields']:.3f}")
    print(f"fields / native = {med['fields'] / med['native']:.3f}")


if __name__ == "__main__":
    main()
