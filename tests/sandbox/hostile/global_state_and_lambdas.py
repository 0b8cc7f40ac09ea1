# Tries: `global` state, dunder-named parameters and defaults, and except-all that would
# swallow the sandbox's stop signals.
# Stopped by: static
# ruff: noqa
import numpy as np

calls = 0


def compute_reward(pole_angle, __builtins__=None):
    global calls
    calls += 1
    try:
        return -np.abs(pole_angle), {}
    except:
        return -np.abs(pole_angle), {}
