# Tries: type(...) and a class statement whose __del__/__reduce__ run code outside the reward.
# Stopped by: static
# ruff: noqa
import numpy as np

Evil = type("Evil", (object,), {"__float__": lambda self: 1.0})


class Later:
    def __del__(self):
        Evil.__init__.__globals__["__builtins__"]["open"]("/tmp/rewardsmith_pwned_type", "w")


def compute_reward(pole_angle):
    return -np.abs(pole_angle), {"x": Evil(), "y": Later()}
