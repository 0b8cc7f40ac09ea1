# Tries: attribute access hidden inside an f-string expression ({x.__class__.__mro__}).
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    leak = f"{pole_angle.__class__.__mro__[-1].__subclasses__()}"
    return -np.abs(pole_angle), {leak[:40]: pole_angle}
