# Tries: a caught exception's e.__traceback__.tb_frame.f_back.f_globals (the worker's globals).
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    try:
        1 / 0
    except ZeroDivisionError as e:
        tb = e.__traceback__
        caller = tb.tb_frame.f_back.f_globals
        leak = str(caller["os"].environ)
    return -np.abs(pole_angle), {leak: pole_angle}
