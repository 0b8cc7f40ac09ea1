# Tries: write files through ndarray methods (tofile, dump) rather than numpy functions.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    pole_angle.tofile("/tmp/rewardsmith_pwned_tofile_dump")
    pole_angle.dump("/tmp/rewardsmith_pwned_tofile_dump.pkl")
    return -np.abs(pole_angle), {}
