# Tries: print megabytes on every call to flood logs and the parent's memory.
# Stopped by: dynamic (contained: print is a no-op in the sandbox, so the reward is judged
# on its values alone and its output never reaches the parent)
# Expect: PASSES
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    print("FLOOD" * 10**6)
    upright = -np.abs(pole_angle)
    return upright, {"upright": upright}
