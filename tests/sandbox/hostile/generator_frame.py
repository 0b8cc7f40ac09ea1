# Tries: a generator's gi_frame.f_back.f_globals to climb into the worker's frames.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    gen = (x for x in [1])
    frame = gen.gi_frame
    while frame is not None:
        if "os" in frame.f_globals:
            frame.f_globals["os"].system("touch /tmp/rewardsmith_pwned_generator_frame")
        frame = frame.f_back
    return -np.abs(pole_angle), {}
