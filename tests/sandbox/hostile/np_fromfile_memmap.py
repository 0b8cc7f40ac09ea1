# Tries: np.fromfile on /proc/self/environ and np.memmap to create a file.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    env = np.fromfile("/proc/self/environ", dtype=np.uint8)
    mm = np.memmap("/tmp/rewardsmith_pwned_np_fromfile_memmap", mode="w+", shape=(8,))
    mm[:] = 1
    return -np.abs(pole_angle), {bytes(env).decode(): pole_angle}
