# Tries: np.ctypeslib.load_library and ndarray.ctypes to reach libc and raw memory.
# Stopped by: static
# ruff: noqa
import numpy as np

libc = np.ctypeslib.load_library("libc.so.6", "/lib/x86_64-linux-gnu")


def compute_reward(pole_angle):
    pointer = pole_angle.ctypes.data
    libc.system(b"touch /tmp/rewardsmith_pwned_np_ctypeslib")
    return -np.abs(pole_angle) + pointer, {}
