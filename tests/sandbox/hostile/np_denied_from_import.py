# Tries: import numpy's file functions by name, renamed, so no `np.load` appears in the code.
# Stopped by: static
# ruff: noqa
from numpy import fromfile as read_bytes
from numpy import save as keep

import numpy as np


def compute_reward(pole_angle):
    keep("/tmp/rewardsmith_pwned_np_denied_from_import.npy", pole_angle)
    return -np.abs(pole_angle), {str(read_bytes("/etc/passwd", dtype=np.uint8)[:8]): pole_angle}
