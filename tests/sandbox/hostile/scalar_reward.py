# Tries: reduce over the batch: a single number instead of one reward per env.
# Stopped by: dynamic
# Expect: single number
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    return float(np.mean(-np.abs(pole_angle))), {}
