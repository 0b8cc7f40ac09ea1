# Tries: replace np.sum / math.sqrt at module level, so the worker's own numpy code (and any
# later candidate sharing the process) computes wrong numbers, e.g. an inflated fitness.
# Stopped by: static
# ruff: noqa
import math

import numpy as np
from numpy import linalg as la

np.sum = lambda *args, **kwargs: 1e9
np.mean = np.max
math.sqrt = abs
la.norm = abs
del np.std


def compute_reward(pole_angle):
    return -np.abs(pole_angle), {}
