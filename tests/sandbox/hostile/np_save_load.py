# Tries: numpy's file API: np.save a canary file and np.load /etc/passwd-like data.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    np.save("/tmp/rewardsmith_pwned_np_save_load.npy", pole_angle)
    leaked = np.loadtxt("/etc/passwd", dtype=str, delimiter=":")
    return -np.abs(pole_angle), {str(leaked[0]): pole_angle}
