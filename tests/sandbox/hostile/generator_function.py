# Tries: make compute_reward a generator function (it returns a generator, never a reward).
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    yield -np.abs(pole_angle), {}
