# Tries: return a string reward and a list instead of a dict of components.
# Stopped by: dynamic
# Expect: must be
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    return "high", ["upright", np.abs(pole_angle)]
