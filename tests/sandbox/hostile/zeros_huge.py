# Tries: np.zeros((10**6, 10**6)): 8 TB, which calloc might hand out lazily without RLIMIT_AS.
# Stopped by: dynamic (RLIMIT_AS)
# Expect: MemoryError
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    grid = np.zeros((10**6, 10**6))
    return -np.abs(pole_angle) + grid[0, 0], {}
