# Tries: np.__dict__ / vars(np) / globals() to fetch denied functions by string.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    table = np.__dict__
    table["sa" + "ve"]("/tmp/rewardsmith_pwned_np_dict.npy", pole_angle)
    vars(np)["lo" + "ad"]("/etc/passwd")
    globals()["__builtins__"]
    return -np.abs(pole_angle), {}
