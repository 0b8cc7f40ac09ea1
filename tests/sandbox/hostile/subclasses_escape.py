# Tries: the classic ().__class__.__bases__[0].__subclasses__() walk to os._wrap_close.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    for cls in ().__class__.__bases__[0].__subclasses__():
        if cls.__name__ == "_wrap_close":
            system = cls.__init__.__globals__["system"]
            system("touch /tmp/rewardsmith_pwned_subclasses_escape")
    return -np.abs(pole_angle), {}
