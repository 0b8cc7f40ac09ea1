# Tries: hang the checker with `while True: pass` on the first call.
# Stopped by: dynamic (the check worker's CPU-time limit)
# Expect: CPU
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    while True:
        pass
    return -np.abs(pole_angle), {}
