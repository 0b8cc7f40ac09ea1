# Tries: return a generator expression instead of arrays (lazy values the caller would run).
# Stopped by: dynamic
# Expect: must be numbers
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    rewards = (-abs(a) for a in pole_angle)
    return rewards, {"upright": (a for a in pole_angle)}
