# Tries: a reward of shape (n, 1), and of (n, n) by broadcasting on the other branch.
# Stopped by: dynamic
# Expect: shape
# ruff: noqa
import numpy as np


def compute_reward(pole_angle, cart_position):
    return -np.abs(pole_angle)[:, None], {"upright": -np.abs(pole_angle)}
