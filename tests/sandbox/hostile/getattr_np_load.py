# Tries: getattr(np, "lo" + "ad") so the denied name never appears literally.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    loader = getattr(np, "lo" + "ad")
    saver = getattr(np, "sa" + "ve")
    saver("/tmp/rewardsmith_pwned_getattr_np_load.npy", pole_angle)
    return loader("/etc/passwd"), {}
