# Tries: forget the return statement (returns None).
# Stopped by: dynamic
# Expect: must return a pair
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    upright = -np.abs(pole_angle)
    upright = upright + 1.0
