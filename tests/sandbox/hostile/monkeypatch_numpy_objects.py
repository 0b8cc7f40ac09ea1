# Tries: change numpy's shared state without touching np.<name> directly: its type tables
# (np.sctypeDict), its error handling (np.seterr), and class attributes through an alias.
# Stopped by: static
# ruff: noqa
import numpy as np

table = np.sctypeDict
table.clear()
np.typecodes["All"] = ""
np.seterr(all="ignore")
info = np.finfo
info.eps = 1.0


def compute_reward(pole_angle):
    limits = np.finfo(np.float64)
    limits.tiny = 0.0
    return -np.abs(pole_angle), {"upright": -np.abs(pole_angle)}
