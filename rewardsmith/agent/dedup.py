"""Find rewards that are the same for learning before any of them trains.

Two candidates can differ in code yet teach PPO exactly the same thing: ``2 * speed``
and ``speed + 1`` rank every transition alike and differ by a positive scale and a shift,
which PPO's advantage normalisation (and ``VecNormalize``) all but erase. STARC
(Skalse et al., 2023) measures reward distance as the distance between *canonicalised*
and *normalised* rewards. Under this tool's reward contract a reward reads the state
after the step and the action, ``r(s', a)``, and does not see the state before: the
EPIC/STARC canonicalisation
``C(R)(s,a,s') = R(s,a,s') + g E[R(s',A,S')] - E[R(s,A,S')] - g E[R(S,A,S')]`` (g the
discount) then reduces to ``r(s', a) - E[r]``, because both expectations are the same
constant. Normalising by the L2 norm leaves a vector on the unit sphere; the distance
between two candidates is the L2 distance of those vectors over a shared batch of real
transitions (the critic's random-play transitions), between 0 (equivalent) and 2
(opposite). Candidates closer than :data:`EQUIVALENT_DISTANCE` train once.

The shift is only harmless when every episode lasts the same number of steps. Where
episodes can end early (a fall, a pole past its limit) a constant per step is a reward
for staying alive, or for dying, and changes what PPO learns; for such tasks the
canonicalisation keeps the mean and removes only the positive scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: STARC distance under which two rewards count as the same reward (cosine ≥ 0.99995).
EQUIVALENT_DISTANCE = 0.01
#: Fewest shared transitions a comparison needs to mean anything.
MIN_SAMPLES = 32


def canonicalise(rewards: Sequence[float], shift_invariant: bool = True) -> np.ndarray | None:
    """Centre (when shifts do not matter) and scale to unit norm.

    Returns ``None`` for a constant (or empty) reward.
    """
    values = np.asarray(rewards, dtype=np.float64)
    if values.size < MIN_SAMPLES or not np.all(np.isfinite(values)):
        return None
    if float(np.ptp(values)) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        return None
    centred = values - values.mean() if shift_invariant else values
    norm = float(np.linalg.norm(centred))
    if norm <= 1e-12 * max(1.0, float(np.abs(values).max())):
        return None
    return centred / norm


def starc_distance(
    a: Sequence[float], b: Sequence[float], shift_invariant: bool = True
) -> float | None:
    """Distance between two rewards' values on the same transitions (``None``: not comparable)."""
    if len(a) != len(b):
        return None
    ca, cb = canonicalise(a, shift_invariant), canonicalise(b, shift_invariant)
    if ca is None or cb is None:
        return None
    return float(np.linalg.norm(ca - cb))


@dataclass(frozen=True)
class Twin:
    """A candidate that need not train, and why.

    Args:
        of: Index (in the list given to :func:`find_twins`) of the candidate it follows.
        distance: STARC distance to it (0.0 for identical code).
        identical: The normalised code is the same.
    """

    of: int
    distance: float
    identical: bool


def find_twins(
    ids: Sequence[str],
    samples: Sequence[Sequence[float] | None],
    shift_invariant: bool = True,
) -> dict[int, Twin]:
    """Map each redundant candidate to the first earlier one it duplicates.

    Args:
        ids: Normalised-code ids, one per candidate.
        samples: Each candidate's reward on the shared transitions (``None``: unknown).
        shift_invariant: Episodes have a fixed length, so a constant shift is harmless.

    Returns:
        ``index -> Twin`` for every candidate that need not train; the others train.
    """
    twins: dict[int, Twin] = {}
    leaders: list[int] = []
    for i, cid in enumerate(ids):
        match: Twin | None = None
        for j in leaders:
            if ids[j] == cid:
                match = Twin(j, 0.0, True)
                break
            a, b = samples[i], samples[j]
            if a is None or b is None:
                continue
            distance = starc_distance(a, b, shift_invariant)
            if distance is not None and distance <= EQUIVALENT_DISTANCE:
                match = Twin(j, distance, False)
                break
        if match is None:
            leaders.append(i)
        else:
            twins[i] = match
    return twins
