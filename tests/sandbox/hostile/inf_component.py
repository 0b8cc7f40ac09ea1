# Tries: a finite reward with an infinite component (division by zero).
# Stopped by: dynamic
# Expect: not finite
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    blowup = 1.0 / (pole_angle * 0.0)
    return -np.abs(pole_angle), {"blowup": blowup}
