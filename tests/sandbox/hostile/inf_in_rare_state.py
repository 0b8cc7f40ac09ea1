# Tries: an infinite component only in states random play does not reach (episodes longer
# than 50 steps), which a learning policy soon reaches.
# Stopped by: runtime (the training worker's contract check on every step)
# Expect: not finite
# ruff: noqa
import numpy as np


def compute_reward(pole_angle, time):
    upright = 1.0 - np.abs(pole_angle)
    bonus = np.where(time > 1.0, np.inf, 0.0)
    return upright, {"upright": upright, "bonus": bonus}
