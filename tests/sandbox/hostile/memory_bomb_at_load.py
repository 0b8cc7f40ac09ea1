# Tries: allocate gigabytes while the module loads, before compute_reward is ever called.
# Stopped by: dynamic (RLIMIT_AS; reported as a failure to load the reward)
# Expect: MemoryError
# ruff: noqa
import numpy as np

TABLE = np.ones((40000, 40000))


def compute_reward(pole_angle):
    return -np.abs(pole_angle), {}
