"""The reports' figures, drawn with matplotlib (Agg) and returned as PNG bytes.

Each function returns ``None`` when there is nothing to draw, so a report of a partial
run simply leaves the figure out.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rewardsmith.report.data import RunData, read_csv

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLOURS = {"best": "#1f77b4", "native": "#2ca02c", "sparse": "#7f7f7f", "search": "#9467bd"}


def _figure(width: float = 6.4, height: float = 3.4, rows: int = 1, cols: int = 1) -> Any:
    # Imported here: matplotlib costs ~0.3 s, and only report commands need it.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt.subplots(rows, cols, figsize=(width, height), squeeze=False)


def _png(fig: Figure) -> bytes:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def fitness_per_iteration(data: RunData) -> bytes | None:
    """Every candidate's fitness per iteration, the iteration's best and the best so far."""
    points = [(it.index, c.fitness) for it in data.iterations for c in it.candidates]
    points = [(i, f) for i, f in points if f is not None and math.isfinite(f)]
    if not points:
        return None
    fig, axes = _figure()
    ax = axes[0][0]
    ax.scatter(
        [i + 1 for i, _ in points], [f for _, f in points], s=18, alpha=0.5, label="candidate"
    )
    xs, bests, so_far, running = [], [], [], -math.inf
    for it in data.iterations:
        values = _finite([c.fitness for c in it.candidates])
        if values:
            running = max(running, max(values))
            xs.append(it.index + 1)
            bests.append(max(values))
            so_far.append(running)
    ax.plot(xs, bests, "o-", color=_COLOURS["best"], label="best of iteration")
    ax.plot(xs, so_far, "--", color=_COLOURS["search"], label="best so far")
    report = data.report or {}
    if report.get("success_threshold") is not None:
        ax.axhline(report["success_threshold"], color="#d62728", lw=0.8, label="success")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"fitness ({report.get('fitness', 'task')})")
    ax.set_xticks(xs or [1])
    ax.legend(fontsize=8)
    return _png(fig)


def _steps_for(trace: list[float], steps: list[float]) -> list[float]:
    if len(steps) == len(trace):
        return steps
    end = steps[-1] if steps else float(len(trace))
    return [end * (i + 1) / len(trace) for i in range(len(trace))]


def training_curves(data: RunData) -> bytes | None:
    """Fitness during training: the best reward (search and final seeds) against the baselines."""
    best = data.best_candidate
    curves: list[tuple[str, str, list[float], list[float]]] = []
    if best is not None:
        m = read_csv(best.folder / "metrics.csv")
        if m.get("fitness"):
            curves.append(("best reward (search)", _COLOURS["search"], m["steps"], m["fitness"]))
    reference: list[float] = []
    for i, folder in enumerate(data.best_seed_dirs):
        m = read_csv(folder / "metrics.csv")
        if m.get("fitness"):
            reference = reference or m["steps"]
            label = "best reward (final seeds)" if i == 0 else ""
            curves.append((label, _COLOURS["best"], m["steps"], m["fitness"]))
    reference = reference or (curves[0][2] if curves else [])
    for mode in ("native", "sparse"):
        for i, trace in enumerate(data.baseline(mode)):
            label = f"{mode} reward" if i == 0 else ""
            curves.append((label, _COLOURS[mode], _steps_for(trace, reference), trace))
    if not curves:
        return None
    fig, axes = _figure()
    ax = axes[0][0]
    for label, colour, xs, ys in curves:
        ax.plot(xs, ys, "o-", ms=3, color=colour, label=label or None, alpha=0.85)
    ax.set_xlabel("env steps")
    ax.set_ylabel("fitness")
    ax.legend(fontsize=8)
    return _png(fig)


def component_traces(data: RunData) -> bytes | None:
    """Each reward component of the best candidate over training, one panel per component."""
    best = data.best_candidate
    if best is None:
        return None
    columns = read_csv(best.folder / "rollouts.csv") or read_csv(best.folder / "metrics.csv")
    names = sorted(k for k in columns if k.startswith("component/"))
    if not names or not columns.get("steps"):
        return None
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = _figure(3.0 * cols, 2.2 * rows, rows, cols)
    for i, name in enumerate(names):
        ax = axes[i // cols][i % cols]
        ax.plot(columns["steps"], columns[name], lw=1.2)
        label = name.split("/", 1)[1]
        ax.set_title("total reward" if label == "__reward__" else label, fontsize=9)
        ax.tick_params(labelsize=7)
    for j in range(len(names), rows * cols):
        axes[j // cols][j % cols].axis("off")
    return _png(fig)


def hns_bars(rows: Sequence[dict[str, Any]]) -> bytes | None:
    """Bar chart of the mean HNS per task, one bar per designer (HNS 1 marked)."""
    tasks = sorted({r["task"] for r in rows})
    designers = sorted({r["designer"] for r in rows})
    values = {(r["task"], r["designer"]): r.get("hns") for r in rows}
    if not any(v is not None for v in values.values()):
        return None
    fig, axes = _figure(max(4.0, 1.4 * len(tasks) + 2), 3.4)
    ax = axes[0][0]
    width = 0.8 / max(1, len(designers))
    for d, designer in enumerate(designers):
        xs = [t + d * width - 0.4 + width / 2 for t in range(len(tasks))]
        ys = [values.get((task, designer)) for task in tasks]
        ax.bar(xs, [y if y is not None else 0.0 for y in ys], width, label=designer)
    ax.axhline(1.0, color="#d62728", lw=0.8, ls="--", label="native reward (HNS 1)")
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(tasks, rotation=15, fontsize=8)
    ax.set_ylabel("human-normalised score")
    ax.legend(fontsize=8)
    return _png(fig)
