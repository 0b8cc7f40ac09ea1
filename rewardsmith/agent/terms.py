"""The offline designer's library of shaped reward terms.

:func:`catalogue` offers the terms (:mod:`rewardsmith.agent.term`) that suit a task and
an intent, bound through ``StateField.tags``; the landing terms are in
:mod:`rewardsmith.agent.landing_terms`, and
:func:`rewardsmith.agent.genome_source.render_source` writes a genome as code.
"""

from __future__ import annotations

from rewardsmith.agent.intent import Intent
from rewardsmith.agent.landing_terms import landing_slots
from rewardsmith.agent.task_facts import (
    field_halfwidth,
    free_body,
    is_discrete,
    tagged,
    termination_bound,
    termination_floor,
    termination_kind,
)
from rewardsmith.agent.term import Slot, Term, make_term
from rewardsmith.envs.spec import TaskSpec

# Ant-v5 at quick (1M steps), two seeds (10000, 10001), forward distance in metres:
#   alive 1, speed 1.36, upright 0.32, action cost 0.053 (the search's pick)   60, 63
#   the same with action cost 0.5                                               23, 49
#   alive 1, speed 1, action cost 0.05 (no upright)                             11, 34
#   alive 1, speed 1, action cost 0.5 (no upright)                             128, 198
#   native (the last, plus a contact cost)                                      71, 105
# Both the strong action cost and leaving out the upright pay were needed.
#: Action cost per unit of squared action, for a free body moving on its own legs.
FREE_BODY_ENERGY = 0.5
#: How often a random genome includes an upright pay while moving a free body.
UPRIGHT_WHILE_MOVING = 0.3


def catalogue(task: TaskSpec, intent: Intent) -> list[Slot]:
    """The terms that suit ``task`` and ``intent``, objective first."""
    ending = termination_kind(task)
    slots: list[Slot] = []
    if ending == "failure":
        slots.append(
            Slot(make_term("alive", "alive", None, 1.0, "alive"), why="episodes end on failure")
        )
    slots += _motion_slots(task, intent)
    slots += _position_slots(task, intent, ending)
    slots += _posture_slots(task, intent, ending)
    slots += _goal_slots(task, intent, ending)
    slots += _turn_slots(task, intent)
    slots += _limb_slots(task, intent)
    slots += landing_slots(task, intent)
    slots += _effort_slots(task, intent, ending)
    return slots


def requests(task: TaskSpec, intent: Intent) -> list[tuple[str, bool]]:
    """Each thing ``intent`` asks for, and whether a tagged field of ``task`` can pay for it.

    The slot builders skip a request whose tag the task lacks; this names what they
    skipped, so that "run along y" on a planar task is not silently designed as "stay
    upright".

    Returns:
        ``(phrase, bound)`` per request; an unbound phrase names the tag it needs.
    """
    wants: list[tuple[str, tuple[str, ...], bool]] = []
    if intent.still or intent.direction is not None:
        what = "staying still" if intent.still else f"moving along {intent.axis}"
        wants.append((what, ("y_velocity" if intent.axis == "y" else "x_velocity",), True))
    at_place = intent.target_x is not None or intent.x_side is not None
    if at_place and intent.direction is None and not intent.still:
        wants.append(("a place along x", ("x_position",), True))
    if intent.target_height is not None or intent.high:
        wants.append(("height", ("height",), True))
    if intent.upright or intent.target_angle is not None:
        what = "staying upright" if intent.upright else "an angle"
        wants.append((what, ("angle", "upright"), True))
    if intent.goal:
        wants.append(("reaching a goal", ("goal_distance",), True))
    if intent.turn is not None:
        wants.append(("turning", ("yaw_rate",), True))
    if intent.arms_up:
        wants.append(("raising the arms", ("hand_height",), False))
    if intent.land:
        wants.append(("landing", ("landed",), True))
    found = []
    for what, tags, scalar in wants:
        bound = any(tagged(task, tag, scalar) is not None for tag in tags)
        found.append((what if bound else f"{what} (no field tagged {' or '.join(tags)})", bound))
    return found


def _motion_slots(task: TaskSpec, intent: Intent) -> list[Slot]:
    vel = tagged(task, "y_velocity" if intent.axis == "y" else "x_velocity")
    if vel is None:
        return []
    if intent.still:
        # Standing still next to another objective (turning, a pose) is a constraint.
        other = intent.turn is not None or intent.arms_up
        role, weight = ("shaping", 0.5) if other else ("objective", 1.0)
        slots = [
            Slot(
                make_term("stillness", "gauss", vel.name, weight, role, 0.0, 0.3),
                why="stay still",
            )
        ]
        side = tagged(task, "y_velocity")
        if side is not None and side is not vel:
            term = make_term("stillness_y", "gauss", side.name, weight, role, 0.0, 0.3)
            slots.append(Slot(term, why="stay still sideways too"))
        return slots
    if intent.direction is None:
        return []
    sign = float(intent.direction)
    if intent.target_speed is not None:
        target = sign * intent.target_speed
        scale = max(0.3, 0.3 * intent.target_speed)
        track = make_term("speed", "gauss", vel.name, 1.0, "objective", target, scale)
        return [Slot(track, alternatives=[{**track, "scale": 2 * scale}], why=f"hold {target:g}")]
    speed = make_term("speed", "linear", vel.name, 1.0, "objective", sign=sign)
    # A bounded form guards against a few wild fast steps dominating the return.
    bounded = make_term("speed", "tanh", vel.name, 2.0, "objective", scale=4.0, sign=sign)
    return [Slot(speed, alternatives=[bounded], why=f"move with sign {sign:+g}")]


def _position_slots(task: TaskSpec, intent: Intent, ending: str) -> list[Slot]:
    pos = tagged(task, "x_position")
    if pos is None or intent.direction is not None or intent.still:
        return []
    if intent.land and tagged(task, "landed") is not None:
        return []  # a landing pays for its spot once, at rest (see landing_terms.landing_slots)
    half = termination_bound(task, pos.name) or field_halfwidth(pos)
    if intent.target_x is not None or intent.x_side is not None:
        if intent.target_x is not None:
            target = intent.target_x
        else:
            target = 0.6 * (half or 1.0) * float(intent.x_side or 0)
        # exp(-|x - target| / scale): a sharp peak for precision and long tails, so that
        # PPO feels the target from the start (x near 0) too.
        scale = max(0.15 * (half or 1.0), 0.5 * abs(target))
        floor = 0.3 * abs(target)
        # Landing tasks pay for the spot once, on landing; per-step position pay is a hint.
        weight, role = (0.2, "shaping") if intent.land else (1.0, "objective")
        term = make_term("position", "decay", pos.name, weight, role, target, scale, 1, floor)
        wide = max(0.25 * (half or 1.0), 0.8 * abs(target))
        bump = make_term("position", "gauss", pos.name, weight, role, target, wide, 1, floor)
        if intent.tolerance is not None:
            # A stated tolerance is the success condition itself: always pay for meeting
            # it, as much as for the shaped distance, and keep the peaks no wider than it
            # allows so that "near" is not good enough.
            tolerance, bonus_weight, include = intent.tolerance, weight, 1.0
            term["scale"] = min(term["scale"], 2.5 * tolerance)
            bump["scale"] = min(bump["scale"], 4.0 * tolerance)
        else:
            tolerance, bonus_weight, include = 0.1 * (half or 1.0), 0.5 * weight, 0.4
        bonus = make_term(
            "at_target", "bonus", pos.name, bonus_weight, "shaping", target, tolerance
        )
        if intent.tolerance is not None:
            bonus["cap"] = tolerance  # wider would pay for missing the band
        return [
            Slot(term, alternatives=[bump], why=f"hold x = {target:g}"),
            Slot(bonus, include=include, why=f"bonus when within {tolerance:g} m"),
        ]
    if ending != "failure":
        return []
    centre = make_term("centering", "gauss", pos.name, 0.3, "shaping", 0.0, 0.5 * (half or 1.0))
    return [Slot(centre, include=0.6, why="stay away from the track ends")]


def _posture_slots(task: TaskSpec, intent: Intent, ending: str) -> list[Slot]:
    slots: list[Slot] = []
    angle = tagged(task, "angle")
    upright_field = tagged(task, "upright")
    moving = intent.direction is not None
    balance = intent.upright or intent.target_angle is not None
    role = "objective" if balance and not moving else "shaping"
    weight = 1.0 if role == "objective" else 0.3
    if angle is not None:
        bound = termination_bound(task, angle.name)
        target = intent.target_angle or 0.0
        scale = bound if bound else (1.0 if moving else 0.5)
        gauss = make_term("upright", "gauss", angle.name, weight, role, target, scale)
        alternatives = [{**gauss, "kind": "cosine"}, {**gauss, "scale": 2 * scale}]
        if upright_field is not None and intent.target_angle is None:
            alternatives.append(make_term("upright", "linear", upright_field.name, weight, role))
        include = 1.0 if role == "objective" or bound else 0.5
        slots.append(Slot(gauss, alternatives, include, why="keep the angle near its target"))
    elif upright_field is not None and (balance or ending == "failure"):
        # Moving a free body whose fall ends the episode: the alive pay already covers
        # staying up, and a per-step upright pay on top of it held Ant back (module note),
        # so the search may try it but the defaults leave it out.
        include = UPRIGHT_WHILE_MOVING if moving and not balance else 1.0
        slots.append(
            Slot(
                make_term("upright", "linear", upright_field.name, weight, role),
                include=include,
                why="stay upright",
            )
        )
    spin = tagged(task, "angular_velocity")
    if spin is not None:
        include = 0.8 if intent.stable else (0.5 if role == "objective" else 0.25)
        term = make_term("spin_damping", "gauss", spin.name, 0.2, "shaping", 0.0, 1.5)
        slots.append(Slot(term, include=include, why="damp angular velocity"))
    vel = tagged(task, "x_velocity")
    if vel is not None and not moving and not intent.still:
        term = make_term("drift_damping", "gauss", vel.name, 0.1, "shaping", 0.0, 1.0)
        slots.append(Slot(term, include=0.3, why="damp drifting"))
    height = tagged(task, "height")
    if height is not None and intent.target_height is not None:
        h = intent.target_height
        term = make_term("height", "gauss", height.name, 1.0, "objective", h, max(0.05, 0.2 * h))
        slots.append(Slot(term, why=f"hold height {h:g}"))
    elif height is not None and intent.high:
        slots.append(
            Slot(make_term("height", "linear", height.name, 1.0, "objective"), why="go high")
        )
    elif height is not None and balance and not moving and ending == "failure":
        floor = termination_floor(task, height.name)
        if floor is not None:
            # The episode ends when this height falls to its floor, and the first link's
            # angle says little about a second link above it (InvertedDoublePendulum);
            # paying the margin above the floor is the direct signal native pays.
            span = 0.2 * max(floor, 0.5)
            term = make_term("height_margin", "margin", height.name, 1.0, "shaping", floor, span)
            slots.append(Slot(term, why=f"keep {height.name} above {floor:g} (the episode ends)"))
    return slots


def _goal_slots(task: TaskSpec, intent: Intent, ending: str) -> list[Slot]:
    dist = tagged(task, "goal_distance")
    if dist is None or not (intent.goal or not intent.has_objective):
        return []
    half = field_halfwidth(dist) or 1.0
    approach = tagged(task, "reach_distance")
    slots = []
    if approach is not None:
        term = make_term("approach", "linear", approach.name, 0.5, "shaping", sign=-1.0)
        slots.append(Slot(term, why="bring the effector to the object first"))
    slots += [
        Slot(
            make_term("goal", "linear", dist.name, 1.0, "objective", sign=-1.0),
            alternatives=[make_term("goal", "decay", dist.name, 1.0, "objective", scale=half)],
            why="get closer to the goal",
        ),
        Slot(_goal_bonus(dist.name, intent.tolerance), why="reach it"),
    ]
    if ending == "success":
        slots.append(
            Slot(
                make_term("time_cost", "alive", None, -0.05, "penalty"),
                include=0.5,
                why="finish sooner",
            )
        )
    return slots


def _goal_bonus(field_name: str, tolerance: float | None) -> Term:
    """A bonus for being at the goal: within the stated tolerance, else within 2 cm.

    A stated tolerance is a cap too: mutation widens a bonus the policy rarely earns, and
    a bonus wider than the success distance pays for failing (on Reacher a 4 cm bonus
    let policies settle at 5 cm when success is 2 cm).
    """
    term = make_term("success", "bonus", field_name, 10.0, "objective", 0.0, tolerance or 0.02)
    if tolerance is not None:
        term["cap"] = tolerance
    return term


def _turn_slots(task: TaskSpec, intent: Intent) -> list[Slot]:
    rate = tagged(task, "yaw_rate")
    if rate is None or intent.turn is None:
        return []
    sign = float(intent.turn)
    spin = make_term("turning", "linear", rate.name, 1.0, "objective", sign=sign)
    bounded = make_term("turning", "tanh", rate.name, 2.0, "objective", scale=2.0, sign=sign)
    return [Slot(spin, alternatives=[bounded], why=f"turn with sign {sign:+g}")]


def _limb_slots(task: TaskSpec, intent: Intent) -> list[Slot]:
    hands = tagged(task, "hand_height", scalar=False)
    if hands is None or not intent.arms_up:
        return []
    raise_ = make_term("arms_up", "vector_tanh", hands.name, 1.0, "objective", 0.0, 0.2)
    return [Slot(raise_, alternatives=[{**raise_, "scale": 0.5}], why="raise the hands")]


def _effort_slots(task: TaskSpec, intent: Intent, ending: str) -> list[Slot]:
    slots: list[Slot] = []
    if not is_discrete(task):
        # Smooth motion asks for a stronger action cost in every form the search can
        # reach, or a jump to the weak form would quietly drop the user's request.
        smooth = 5.0 if intent.smooth else 1.0
        weight = smooth * (0.05 if intent.direction is not None else 0.01)
        alternatives: list[Term] = []
        if intent.direction is not None and free_body(task):
            # A free body moving on its own legs: a strong action cost (module note).
            alternatives = [make_term("energy", "energy", "action", weight, "penalty")]
            weight = smooth * FREE_BODY_ENERGY
        include = 1.0 if intent.smooth else 0.7
        slots.append(
            Slot(
                make_term("energy", "energy", "action", weight, "penalty"),
                alternatives=alternatives,
                include=include,
                why="small actions",
            )
        )
    joints = tagged(task, "joint_velocities", scalar=False)
    if joints is not None:
        include = 0.7 if (intent.smooth or intent.stable) else 0.25
        term = make_term("joint_damping", "vector_sq", joints.name, 0.002, "penalty")
        slots.append(Slot(term, include=include, why="damp joint velocities"))
    return slots
