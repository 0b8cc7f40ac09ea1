# Tries: "sleep" without the time module: a busy loop burning ~20 ms per call.
# Stopped by: dynamic (the check's per-call time budget relative to the env step)
# Expect: too slow
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    spin = 0
    while spin < 200000:
        spin += 1
    upright = -np.abs(pole_angle)
    return upright, {"upright": upright}
