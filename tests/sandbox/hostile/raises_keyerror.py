# Tries: crash with an exception of its own on every call.
# Stopped by: dynamic
# Expect: KeyError
# ruff: noqa
import numpy as np

WEIGHTS = {"upright": 1.0}


def compute_reward(pole_angle):
    return -np.abs(pole_angle) * WEIGHTS["uprite"], {}
