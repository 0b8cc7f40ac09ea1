# Tries: ctypes to call libc's system() and getenv() directly.
# Stopped by: static
# ruff: noqa
import ctypes

import numpy as np

libc = ctypes.CDLL(None)
libc.system(b"touch /tmp/rewardsmith_pwned_import_ctypes")


def compute_reward(pole_angle):
    libc.getenv.restype = ctypes.c_char_p
    return -np.abs(pole_angle), {str(libc.getenv(b"OPENAI_API_KEY")): pole_angle}
