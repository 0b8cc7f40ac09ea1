# Tries: eval/exec/compile of a string that imports os (the string is not seen by the AST).
# Stopped by: static
# ruff: noqa
import numpy as np

payload = "__imp" + "ort__('os').system('touch /tmp/rewardsmith_pwned_eval_exec_compile')"


def compute_reward(pole_angle):
    exec(compile(payload, "<x>", "exec"))
    eval(payload)
    return -np.abs(pole_angle), {}
