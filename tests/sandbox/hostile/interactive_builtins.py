# Tries: builtins that block or leave the process: input(), breakpoint(), exit(), help().
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    breakpoint()
    if input() == "y":
        exit(0)
    help(np)
    return -np.abs(pole_angle), {}
