"""How a genome of offline-designer terms becomes ``compute_reward`` source.

Each term is one line of numpy and one entry of the ``components`` dict, so that the
analyzer can read every term's trace. The code follows the reward contract: fields in,
``(reward, components)`` out, one value per env of the batch.
"""

from __future__ import annotations

import keyword
import re

from rewardsmith.agent.term import Term
from rewardsmith.envs.spec import TaskSpec


def _num(value: float) -> str:
    text = f"{value:.4g}"
    return text if any(c in text for c in ".en") else f"{text}.0"


def _expression(term: Term, var: str, vector: bool = False) -> str:
    """Code for one term's contribution, given the variable that holds its field."""
    w, target, scale = term["weight"], term["target"], term["scale"]
    kind = term["kind"]
    centred = f"({var} - {_num(target)})" if target else var
    if kind == "progress":  # potential-based: the distance to the target closed this step
        before = f"prev_{var} - {_num(target)}" if target else f"prev_{var}"
        gain = f"np.abs({before}) - np.abs({centred})"
        return f"{_num(w)} * " + (f"np.sum({gain}, axis=1)" if vector else f"({gain})")
    if kind == "alive":
        return f"{_num(w)} * np.ones(n)"
    if kind == "linear":
        return f"{_num(w * term['sign'])} * {var}"
    if kind == "tanh":
        return f"{_num(w)} * np.tanh({_num(term['sign'])} * {var} / {_num(scale)})"
    if kind == "gauss":
        return f"{_num(w)} * np.exp(-np.square({centred} / {_num(scale)}))"
    if kind == "cosine":
        # Shifted into [0, w]: a negative per-step reward would teach early termination.
        return f"{_num(w)} * 0.5 * (1.0 + np.cos({centred}))"
    if kind == "decay":
        return f"{_num(w)} * np.exp(-np.abs({centred}) / {_num(scale)})"
    if kind == "beyond":  # a one-off cost for the step that crosses a termination bound
        return f"-{_num(w)} * (np.abs({centred}) >= {_num(scale)}).astype(np.float64)"
    if kind == "margin":  # 0 at a termination floor, the weight one scale above it
        return f"{_num(w)} * np.clip(({var} - {_num(target)}) / {_num(scale)}, 0.0, 1.0)"
    if kind == "bonus":
        return f"{_num(w)} * (np.abs({centred}) < {_num(scale)}).astype(np.float64)"
    if kind == "acting":  # a discrete action other than the no-op
        return f"-{_num(w)} * np.any({var} != {_num(target)}, axis=1).astype(np.float64)"
    if kind == "energy":
        return f"-{_num(w)} * np.sum(np.square({var}), axis=1)"
    if kind == "vector_sq":
        return f"-{_num(w)} * np.mean(np.square({var}), axis=1)"
    if kind == "vector_mean":
        return f"{_num(w)} * np.mean({var}, axis=1)"
    if kind == "vector_tanh":
        return f"{_num(w)} * np.mean(np.tanh({var} / {_num(scale)}), axis=1)"
    raise ValueError(f"unknown term kind {kind!r}")


def _variable(name: str, taken: set[str]) -> str:
    var = re.sub(r"\W", "_", name)
    if keyword.iskeyword(var) or var in taken or var in {"n", "np", "reward", "math", "components"}:
        var = f"r_{var}"
    return var


def render_source(genome: list[Term], task: TaskSpec, header: list[str]) -> str:
    """``compute_reward`` source for ``genome`` (terms summed; each one a component).

    Args:
        genome: Terms, in order.
        task: The task (field shapes decide how fields are reduced).
        header: Comment lines placed at the top of the function.
    """
    shapes = {f.name: f.shape for f in task.fields}
    used = [
        f.name for f in task.fields if any(f.name in (t["field"], t.get("gate")) for t in genome)
    ]
    # Progress terms read each field one step back too (``prev_<field>``).
    used += [
        f"prev_{f.name}"
        for f in task.fields
        if any(t["kind"] == "progress" and t["field"] == f.name for t in genome)
    ]
    shapes.update({f"prev_{f.name}": f.shape for f in task.fields})
    needs_action = any(t["field"] == "action" for t in genome)
    params = [*used, "action"] if needs_action or not used else used
    lines = ["import numpy as np", "", "", f"def compute_reward({', '.join(params)}):"]
    lines += [f"    # {line}" for line in header]
    lines.append(f"    n = np.shape({params[0]})[0]")
    for name in used:
        if shapes[name]:
            lines.append(f"    {name} = np.asarray({name}, dtype=np.float64).reshape(n, -1)")
        else:
            lines.append(f"    {name} = np.asarray({name}, dtype=np.float64)")
    if needs_action:
        lines.append("    action = np.asarray(action, dtype=np.float64).reshape(n, -1)")
    taken = set(params)
    names: list[tuple[str, str]] = []
    for term in genome:
        var = _variable(term["name"], taken)
        taken.add(var)
        names.append((term["name"], var))
        field_name = term["field"] or ""
        expression = _expression(term, field_name, bool(shapes.get(field_name)))
        if term.get("gate"):
            expression = f"{term['gate']} * ({expression})"
        lines.append(f"    {var} = {expression}")
    total = " + ".join(var for _, var in names) if names else "np.zeros(n)"
    lines.append(f"    reward = {total}")
    lines.append("    components = {")
    lines += [f'        "{name}": {var},' for name, var in names]
    lines.append("    }")
    lines.append("    return reward, components")
    return "\n".join(lines) + "\n"
