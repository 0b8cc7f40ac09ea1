# Tries: file writers and raw-memory tools hidden in numpy submodules (np.lib, np.f2py, np.testing).
# Stopped by: static
# ruff: noqa
import numpy as np
import numpy.lib.npyio

from numpy.lib import format as npformat


def compute_reward(pole_angle):
    np.lib.npyio.savetxt("/tmp/rewardsmith_pwned_np_lib_submodules", pole_angle)
    view = np.lib.stride_tricks.as_strided(pole_angle, shape=(10**6,), strides=(8,))
    np.f2py.compile("", modulename="pwn")
    np.testing.assert_equal(npformat, numpy.lib)
    return view[: len(pole_angle)], {}
