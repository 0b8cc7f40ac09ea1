# Tries: pass the critic's short check, then never return from a call during training
# (a loop that swallows every Exception a timeout could raise in it).
# Stopped by: runtime (the reward VecEnv's per-call watchdog)
# Expect: ran for more than
# ruff: noqa
import numpy as np

CALLS = [0]


def compute_reward(pole_angle):
    CALLS[0] += 1
    while CALLS[0] > 100:
        try:
            CALLS[0] += 1
        except Exception:
            continue
    upright = 1.0 - np.abs(pole_angle)
    return upright, {"upright": upright}
