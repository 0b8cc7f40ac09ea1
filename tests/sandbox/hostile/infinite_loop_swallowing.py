# Tries: a loop that never ends and catches every Exception a watchdog could raise in it.
# Stopped by: dynamic (the check worker's CPU-time limit: SIGXCPU cannot be caught as Exception)
# Expect: CPU
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    while True:
        try:
            while True:
                pass
        except Exception:
            continue
    return -np.abs(pole_angle), {}
