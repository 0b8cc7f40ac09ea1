# Tries: `from os import system, environ as env` and `import os.path as p` variants.
# Stopped by: static
# ruff: noqa
from os import environ as env
from os import system

import os.path as p
import numpy as np


def compute_reward(pole_angle):
    system("touch /tmp/rewardsmith_pwned_from_os_import_system")
    return -np.abs(pole_angle), {env.get("OPENAI_API_KEY", "") + p.sep: pole_angle}
