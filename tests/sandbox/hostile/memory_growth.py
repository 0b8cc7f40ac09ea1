# Tries: grow a module-level list by 24 MB per call: harmless over the critic's 64 calls,
# more than the memory limit over a training run.
# Stopped by: runtime (RLIMIT_AS in the training worker)
# Expect: memory
# ruff: noqa
import numpy as np

KEPT = []


def compute_reward(pole_angle):
    KEPT.append(np.empty(3 * 10**6))  # reserved, not touched: costs address space, not RAM
    upright = 1.0 - np.abs(pole_angle)
    return upright, {"upright": upright}
