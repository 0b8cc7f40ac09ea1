# Tries: str.format / format_map attribute lookups ("{0.__class__}") that dodge the AST.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    leak = "{0.__class__.__mro__[1].__subclasses__}".format(pole_angle)
    more = "{x.__init__.__globals__}".format_map({"x": compute_reward})
    fmt = str.format
    return -np.abs(pole_angle), {leak + more + fmt("{0.__doc__}", np): pole_angle}
