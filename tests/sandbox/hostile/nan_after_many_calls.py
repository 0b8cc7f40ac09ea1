# Tries: behave during the critic's short check, then return NaN once it has been called more
# often than the check calls it (a counter in a module-level list needs no `global`).
# Stopped by: runtime (the training worker's contract check on every step)
# Expect: not finite
# ruff: noqa
import numpy as np

CALLS = [0]


def compute_reward(pole_angle):
    CALLS[0] += 1
    upright = 1.0 - np.abs(pole_angle)
    if CALLS[0] > 150:
        upright = upright * np.nan
    return upright, {"upright": upright}
