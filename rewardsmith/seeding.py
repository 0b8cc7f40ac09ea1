"""Derived seeds: every seed comes from the run's root seed and the job's place in the run.

Deriving (rather than drawing from a shared generator) makes a result independent of the
order parallel jobs finish in and of how many jobs ran before.
"""

from __future__ import annotations

import numpy as np


def derive_seed(root: int, *path: int) -> int:
    """A seed in ``[0, 2**31)`` for the job at ``path`` (e.g. iteration, slot) under ``root``."""
    state = np.random.SeedSequence([root, *path]).generate_state(1, dtype=np.uint32)
    return int(state[0] & 0x7FFFFFFF)


def derive_seeds(root: int, count: int, *path: int) -> list[int]:
    """``count`` distinct derived seeds for the jobs at ``path``."""
    return [derive_seed(root, *path, k) for k in range(count)]


#: Seed path of the final evaluation (best reward and baselines), under the root seed.
FINAL_EVAL_SEED_PATH = 10_000
#: Seed path of the confirmation retrainings, distinct from the final evaluation's so
#: the final evaluation stays an independent measure of the reward it chose.
CONFIRM_SEED_PATH = 20_000
