# Tries: reach the real open() through `import builtins` and write a canary file.
# Stopped by: static
# ruff: noqa
import builtins

import numpy as np


def compute_reward(pole_angle):
    builtins.open("/tmp/rewardsmith_pwned_builtins_module_open", "w").write("pwned")
    return -np.abs(pole_angle), {"upright": -np.abs(pole_angle)}
