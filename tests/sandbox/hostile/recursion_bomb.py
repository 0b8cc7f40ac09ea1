# Tries: unbounded recursion at call time.
# Stopped by: dynamic (RecursionError is reported with its line)
# Expect: RecursionError
# ruff: noqa
import numpy as np


def deeper(n):
    return deeper(n + 1) + 1


def compute_reward(pole_angle):
    return -np.abs(pole_angle) + deeper(0), {}
