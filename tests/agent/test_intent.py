"""How the offline designer reads a behaviour description (:mod:`rewardsmith.agent.intent`)."""

from __future__ import annotations

import pytest

from rewardsmith.agent.intent import read_intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("keep the pole upright while holding the cart near x = 0.5", 0.5),
        ("balance it at x=0.5", 0.5),
        ("hold the cart at x ≈ -0.3", -0.3),
        ("keep the cart x position of 1.25", 1.25),
        # A distance to one side, in digits or in words.
        ("hold the cart one metre to the right", 1.0),
        ("keep the cart 0.5 m to the left of the centre", -0.5),
        ("balance with the cart at 0.5", 0.5),
    ],
)
def test_target_position_is_read(text: str, expected: float) -> None:
    intent = read_intent(text)
    assert intent.target_x == pytest.approx(expected)
    assert intent.direction is None


def test_other_intents() -> None:
    assert read_intent("run at 2 m/s").target_speed == 2.0
    assert read_intent("go forward at half a metre per second").target_speed == 0.5
    assert read_intent("walk at one metre per second").target_speed == 1.0
    assert read_intent("walk on one leg").target_speed is None
    assert read_intent("run backwards at 1.5 m/s").direction == -1
    assert read_intent("balance near the right edge").x_side == 1
    assert read_intent("move right").direction == 1
    assert read_intent("stand still").still
    assert read_intent("swing up smoothly").smooth
    assert read_intent("keep the pole balanced").direction is None
    assert read_intent("balance the pole; the cart must not run off the track").direction is None
    assert read_intent("run forward, never backwards").direction == 1
    # "high" of the body is a height to keep, and "head" the body part is not a motion.
    assert read_intent("Hop while keeping the torso high.").high
    assert read_intent("stand tall").high
    held = read_intent("hold its head high")
    assert held.high and held.direction is None
    assert read_intent("run at high speed").high is False
    assert read_intent("head towards -x").direction == -1
    assert read_intent("walk forward and keep the hull level").upright
    assert not read_intent("reach level 2").upright
    # Forbidding one way of moving is not standing still.
    assert read_intent("do not move").still
    sideways = read_intent("run forward and do not move laterally")
    assert not sideways.still and sideways.direction == 1 and sideways.axis == "x"
    assert read_intent("run forward, never backwards, without moving sideways").direction == 1


@pytest.mark.parametrize(
    ("text", "axis", "direction", "turn"),
    [
        ("walk along +y", "y", 1, None),
        ("walk along -y quickly", "y", -1, None),
        ("walk sideways", "y", 1, None),
        ("turn counter-clockwise in place as fast as possible", "x", None, 1),
        ("spin clockwise", "x", None, -1),
    ],
)
def test_axis_and_turn_intents(text: str, axis: str, direction, turn) -> None:
    intent = read_intent(text)
    assert (intent.axis, intent.direction, intent.turn) == (axis, direction, turn)


@pytest.mark.parametrize(
    ("text", "direction", "high"),
    [
        # A motion verb beside a height goal names no direction; a direction word does.
        ("Hop as high as possible.", None, True),
        ("Hop at a height of 1.3 m.", None, False),
        ("Hop forward as high as possible.", 1, True),
        ("Jump backwards as high as you can.", -1, True),
        # Height as a manner keeps the verb's direction.
        ("Walk while keeping the head high.", 1, True),
        ("Run as fast as possible while keeping the torso high.", 1, True),
    ],
)
def test_a_height_goal_takes_the_direction_only_from_a_direction_word(
    text: str, direction: int | None, high: bool
) -> None:
    intent = read_intent(text)
    assert (intent.direction, intent.high) == (direction, high)
    assert direction is not None or not any(r.startswith("direction") for r in intent.read)


@pytest.mark.parametrize(
    ("text", "radians"),
    [
        ("Hold the pendulum horizontal at 90 degrees.", 1.5708),
        ("Keep the tilt at 0.2 rad.", 0.2),
        ("Lean forward to 10 deg while walking.", 0.1745),
        ("Turn 180 degrees in place.", None),  # a turn, not a posture
    ],
)
def test_an_angle_is_read_by_its_unit(text: str, radians: float | None) -> None:
    angle = read_intent(text).target_angle
    assert angle == pytest.approx(radians, abs=1e-4) if radians is not None else angle is None


def test_land_far_left_is_a_side_not_a_direction() -> None:
    intent = read_intent("Land safely as far left as allowed, away from the pad.")
    assert intent.land and intent.x_side == -1 and intent.direction is None
    assert read_intent("stand still with both arms raised above the head").arms_up
    assert read_intent("stand up from the ground").high


def test_a_place_to_move_to_is_not_read_as_a_direction() -> None:
    intent = read_intent("Move to x = 2 and stop there.")
    assert (intent.direction, intent.target_x) == (None, 2.0)
    assert intent.read == ["target x 2"]


def test_a_verb_that_names_a_goal_is_not_a_direction() -> None:
    reach = read_intent("Move the arm's fingertip onto the target and keep it there.")
    assert reach.goal and reach.direction is None and reach.read == ["goal"]
    assert read_intent("Run forward to the goal.").direction == 1
    assert read_intent("Walk sideways to the target.").direction == 1  # the y axis, said


def test_what_is_read_says_only_what_the_intent_holds() -> None:
    """A direction word that a side or a place overrides is not listed as read."""
    far = read_intent("Touch down as far to the left as possible.")
    assert far.direction is None and far.read == ["x side -1 (as far as allowed)", "land"]
    assert read_intent("Rotate on the spot.").read == ["stay still", "turn +1"]
