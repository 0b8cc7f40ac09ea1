# Tries: a 10 MB component name, copied into every report and CSV header.
# Stopped by: dynamic (the contract caps the length of component names)
# Expect: component name
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    upright = -np.abs(pole_angle)
    return upright, {"x" * 10**7: upright}
