# Tries: a components dict with 10**6 keys, which would bloat result.json, critic.json and
# every metrics row.
# Stopped by: dynamic (the contract caps the number of components)
# Expect: components
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    upright = -np.abs(pole_angle)
    return upright, {f"term_{i}": upright for i in range(10**6)}
