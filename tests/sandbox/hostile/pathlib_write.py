# Tries: pathlib.Path to write a canary file and read the user's home folder.
# Stopped by: static
# ruff: noqa
from pathlib import Path

import numpy as np


def compute_reward(pole_angle):
    Path("/tmp/rewardsmith_pwned_pathlib_write").write_text("pwned")
    Path.home().joinpath("rewardsmith_pwned_pathlib_write").touch()
    return -np.abs(pole_angle), {}
