# Tries: a 100 MB exception message, to flood the critic's report and the designer's prompt.
# Stopped by: dynamic (messages are cut to a few hundred characters)
# Expect: ValueError
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    raise ValueError("A" * 10**8)
    return -np.abs(pole_angle), {}
