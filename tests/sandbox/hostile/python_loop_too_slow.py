# Tries: a Python loop over the batch with heavy per-element work: correct but far too slow.
# Stopped by: dynamic (the check's per-call time budget relative to the env step)
# Expect: too slow
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    out = np.zeros(len(pole_angle))
    for i in range(len(pole_angle)):
        total = 0.0
        for k in range(2000):
            total += abs(float(pole_angle[i])) * 1e-6 * k
        out[i] = -total
    return out, {"upright": out}
