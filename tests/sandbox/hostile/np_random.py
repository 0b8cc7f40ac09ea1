# Tries: a non-deterministic reward (np.random), which training could not reproduce.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    noise = np.random.normal(size=pole_angle.shape)
    return -np.abs(pole_angle) + noise, {"noise": noise}
