"""A reward term as plain data, and a slot of the offline designer's genome.

A *term* is plain JSON data: which field it reads, its form (``kind``), weight, target,
scale (temperature) and sign. A *genome* is a list of terms; a :class:`Slot` is one place
in it, with the forms the search may swap in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Term = dict[str, Any]


@dataclass
class Slot:
    """One place in a genome: a term with its alternatives and how often it is included.

    Args:
        term: The default form of the term.
        alternatives: Other forms of the same slot (same name, different ``kind``/field).
        include: Probability of including it in a random genome (1.0: always).
        why: One phrase for the prompt record.
    """

    term: Term
    alternatives: list[Term] = field(default_factory=list)
    include: float = 1.0
    why: str = ""


def make_term(
    name: str,
    kind: str,
    field_name: str | None,
    weight: float,
    role: str,
    target: float = 0.0,
    scale: float = 1.0,
    sign: float = 1.0,
    floor: float = 0.0,
    gate: str | None = None,
) -> Term:
    """A term as plain data (what genomes and ``origin["genome"]`` store).

    ``gate`` names a 0/1 field the term is multiplied by (only when it is 1 does it pay).
    """
    term = {
        "name": name,
        "kind": kind,
        "field": field_name,
        "weight": float(weight),
        "role": role,
        "target": float(target),
        "scale": float(scale),
        "sign": float(sign),
        "floor": float(floor),  # smallest scale mutation may reach
    }
    if gate is not None:
        term["gate"] = gate
    return term
