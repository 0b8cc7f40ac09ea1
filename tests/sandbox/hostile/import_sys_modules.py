# Tries: `import sys` and fish os out of sys.modules (already imported by the worker).
# Stopped by: static
# ruff: noqa
import sys

import numpy as np


def compute_reward(pole_angle):
    os = sys.modules["os"]
    open_ = sys.modules["builtins"].open
    open_("/tmp/rewardsmith_pwned_import_sys_modules", "w").write(str(os.environ))
    return -np.abs(pole_angle), {}
