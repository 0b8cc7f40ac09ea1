# Tries: a reward that is NaN for every state (log of a negative number).
# Stopped by: dynamic
# Expect: not finite
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    reward = np.log(-np.abs(pole_angle) - 1.0)
    return reward, {"log": reward}
