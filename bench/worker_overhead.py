"""The fixed cost of one training: a sandboxed worker process on a tiny job.

Successive halving trains many short rungs, and the tests train many tiny budgets, so
what a worker spends before and after PPO counts as much as PPO itself there. This runs
the same 2,048-step CartPole job in the sandbox, three ways interleaved in rounds so
machine noise hits all alike:

* ``forked``: as the executors run it, a child of the fork server, which imported torch
  and stable-baselines3 once (the server's start is timed apart, on the first job);
* ``launched``: ``python -m rewardsmith.train.worker`` in a fresh interpreter through the
  exec launcher (it leaves with ``os._exit`` once ``result.json`` is written);
* ``teardown``: the same ``main`` in a fresh interpreter left through ``sys.exit``, which
  unloads torch first.

Prints the median wall time of each, their ratios, and where a fresh worker's time goes:
the imports, ``torch._dynamo`` (imported by torch's optimizers on first use), the job.

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

from rewardsmith.sandbox.forkserver import ForkServer
from rewardsmith.sandbox.runner import Limits, run_sandboxed
from rewardsmith.train.jobs import WORKER_PRELOAD

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


def _run(argv: list[str], folder: Path, server: ForkServer | None) -> float:
    (folder / "result.json").unlink(missing_ok=True)
    start = time.perf_counter()
    proc = run_sandboxed(argv, folder, Limits.for_training(120), fork_server=server)
    seconds = time.perf_counter() - start
    result = json.loads((folder / "result.json").read_text())
    if not proc.ok or "error" in result or proc.forked != (server is not None):
        raise SystemExit(f"the worker failed: {result.get('error')} {proc.stderr_tail[-500:]}")
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
    worker = [sys.executable, "-m", "rewardsmith.train.worker", "job.json"]
    teardown = [sys.executable, "-c", TEARDOWN, "job.json"]
    times: dict[str, list[float]] = {"forked": [], "launched": [], "teardown": []}
    with tempfile.TemporaryDirectory(prefix="rs-worker-bench-") as tmp:
        folder, server_folder = Path(tmp) / "job", Path(tmp) / "server"
        folder.mkdir()
        server_folder.mkdir()
        (folder / "job.json").write_text(json.dumps(job))
        server = ForkServer(WORKER_PRELOAD, lambda: server_folder)
        first = _run(worker, folder, server)
        for _ in range(args.rounds):
            times["forked"].append(_run(worker, folder, server))
            times["launched"].append(_run(worker, folder, None))
            times["teardown"].append(_run(teardown, folder, None))
        server.close()
        phases = subprocess.run(
            [sys.executable, "-c", PHASES], capture_output=True, text=True, check=True
        ).stdout.split()
    forked, launched, torn = (statistics.median(times[name]) for name in times)
    print(f"worker on a {args.steps}-step CartPole job, median of {args.rounds} rounds:")
    print(f"  forked    {forked:6.2f} s   (first job, starting the server: {first:.2f} s)")
    print(f"  launched  {launched:6.2f} s")
    print(f"  teardown  {torn:6.2f} s")
    print(f"  ratio forked/launched: {forked / launched:.2f}")
    print(f"  ratio launched/teardown: {launched / torn:.2f}")
    torch_s, sb3_s, dynamo_s = (float(x) for x in phases)
    print(f"imports: torch {torch_s:.2f} s, stable_baselines3 {sb3_s:.2f} s, ", end="")
    print(f"torch._dynamo {dynamo_s:.2f} s (first optimizer use)")


if __name__ == "__main__":
    main()
