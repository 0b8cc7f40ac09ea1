# Tries: raise StopIteration from the reward, which a careless caller might treat as "done".
# Stopped by: dynamic
# Expect: StopIteration
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    next(iter([]))
    return -np.abs(pole_angle), {}
