# Tries: `import subprocess` inside compute_reward and run a shell command.
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    import subprocess

    out = subprocess.run(
        "env; touch /tmp/rewardsmith_pwned_import_subprocess_in_function",
        shell=True,
        capture_output=True,
        text=True,
    )
    raise ValueError(out.stdout)
