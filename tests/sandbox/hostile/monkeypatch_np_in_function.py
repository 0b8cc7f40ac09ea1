# Tries: monkeypatch numpy while the reward runs (setattr, item assignment on np, aliases).
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    np.mean = lambda *args, **kwargs: 1e9
    setattr(np, "std", lambda *args, **kwargs: 0.0)
    np.linalg.norm = abs
    alias = np
    alias.isfinite = lambda x: True
    return -np.abs(pole_angle), {}
