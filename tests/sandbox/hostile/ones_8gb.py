# Tries: np.ones(10**9): 8 GB touched page by page, which would push the machine into swap.
# Stopped by: dynamic (RLIMIT_AS)
# Expect: MemoryError
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    block = np.ones(10**9)
    return -np.abs(pole_angle) + block[-1], {}
