# Tries: a 10**10-element Python list (80 GB of pointers).
# Stopped by: dynamic (RLIMIT_AS turns it into a MemoryError)
# Expect: MemoryError
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    big = [0] * 10**10
    return -np.abs(pole_angle) + len(big), {}
