# Tries: importlib.import_module("os") to reach os.environ and the file system.
# Stopped by: static
# ruff: noqa
import importlib

import numpy as np


def compute_reward(pole_angle):
    os = importlib.import_module("o" + "s")
    with os.fdopen(os.open("/tmp/rewardsmith_pwned_importlib_os", 0o101), "w") as fh:
        fh.write(os.environ.get("OPENAI_API_KEY", ""))
    return -np.abs(pole_angle), {}
