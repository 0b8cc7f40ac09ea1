# Tries: be fast during the critic's check, then burn ~40 ms per call for the rest of training.
# Stopped by: runtime (the reward VecEnv's time budget relative to the env's step time)
# Expect: reward took
# ruff: noqa
import numpy as np

CALLS = [0]


def compute_reward(pole_angle):
    CALLS[0] += 1
    if CALLS[0] > 100:
        spin = 0
        while spin < 1000000:
            spin += 1
    upright = 1.0 - np.abs(pole_angle)
    return upright, {"upright": upright}
