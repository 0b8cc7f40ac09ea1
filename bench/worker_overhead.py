"""The fixed cost of one training: a sandboxed worker process on a tiny job.

Successive halving trains many short rungs, and the tests train many tiny budgets, so
what a worker spends before and after PPO counts as much as PPO itself there. This runs
the same 2,048-step CartPole job in a fresh worker process, two ways interleaved in
rounds so machine noise hits both alike:

* ``exit``: ``python -m rewardsmith.train.worker`` as the executors start it (it leaves
  with ``os._exit`` once ``result.json`` is written);
* ``teardown``: the same ``main`` left through ``sys.exit``, which unloads torch first.

Prints the median wall time of each, their ratio, and where a worker's time goes: the
imports, ``torch._dynamo`` (imported by torch's optimizers on first use), and the job.

    python bench/worker_overhead.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REWARD = (
    "import numpy as np\n\ndef compute_reward(pole_angle):\n"
    "    up = 1.0 - np.abs(pole_angle)\n    return up, {'up': up}\n"
)
TEARDOWN = "import sys\nfrom rewardsmith.train.worker import main\nsys.exit(main(sys.argv[1:]))\n"
PHASES = """
import time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import stable_baselines3
t2 = time.perf_counter()
import torch._dynamo
t3 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f} {t3 - t2:.2f}")
"""


def _run(argv: list[str], folder: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    result = json.loads((folder / "result.json").read_text())
    if proc.returncode != 0 or "error" in result:
        raise SystemExit(f"the worker failed: {result.get('error')} {proc.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2048)
    args = parser.parse_args()
    job = {
        "kind": "train",
        "task": "CartPole-v1",
        "budget": str(args.steps),
        "seed": 0,
        "reward": {"mode": "candidate", "source": REWARD},
    }
    ways = {
        "exit": [sys.executable, "-m", "rewardsmith.train.worker", "job.json"],
        "teardown": [sys.executable, "-c", TEARDOWN, "job.json"],
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    with tempfile.TemporaryDirectory(prefix="rs-worker-bench-") as tmp:
        folder = Path(tmp)
        (folder / "job.json").write_text(json.dumps(job))
        for _ in range(args.rounds):
            for name, argv in ways.items():
                times[name].append(_run(argv, folder))
        phases = subprocess.run(
            [sys.executable, "-c", PHASES], capture_output=True, text=True, check=True
        ).stdout.split()
    exit_s, teardown_s = (statistics.median(times[name]) for name in ways)
    print(f"worker on a {args.steps}-step CartPole job, median of {args.rounds} rounds:")
    print(f"  exit      {exit_s:6.2f} s")
    print(f"  teardown  {teardown_s:6.2f} s")
    print(f"  ratio exit/teardown: {exit_s / teardown_s:.2f}")
    torch_s, sb3_s, dynamo_s = (float(x) for x in phases)
    print(f"imports: torch {torch_s:.2f} s, stable_baselines3 {sb3_s:.2f} s, ", end="")
    print(f"torch._dynamo {dynamo_s:.2f} s (first optimizer use)")


if __name__ == "__main__":
    main()
