# Tries: compute_reward.__globals__ / np.mean.__globals__ to reach real builtins and os.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    real = np.mean.__globals__["__builtins__"]
    opener = real["open"] if isinstance(real, dict) else real.open
    opener("/tmp/rewardsmith_pwned_function_globals", "w").write("pwned")
    mine = compute_reward.__globals__
    return -np.abs(pole_angle), {str(mine): pole_angle}
