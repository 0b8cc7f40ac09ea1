# Tries: a relative import of the worker's own package and `from numpy import *`.
# Stopped by: static
# ruff: noqa
from numpy import *

from . import worker


def compute_reward(pole_angle):
    worker.os.system("touch /tmp/rewardsmith_pwned_relative_and_star_import")
    return -abs(pole_angle), {}
