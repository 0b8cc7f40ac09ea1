# Tries: a top-level `import os` that writes a file and leaks env vars at load time.
# Stopped by: static
# ruff: noqa
import os

import numpy as np

os.makedirs("/tmp/rewardsmith_pwned_import_os_toplevel", exist_ok=True)
SECRET = os.environ.get("REWARDSMITH_CANARY_TOKEN", "none")


def compute_reward(pole_angle):
    return -np.abs(pole_angle), {SECRET: pole_angle}
