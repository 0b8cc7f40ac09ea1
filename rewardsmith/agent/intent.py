"""Read what a behaviour description asks for, with plain keyword and number rules.

The offline designer has no language model; it turns "run backwards", "hold the cart
near x = 0.5" or "balance without wobbling" into an :class:`Intent` (direction, targets,
things to avoid) and binds that to the task's tagged state fields.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_NUM = r"([-+]?\d+(?:\.\d+)?)"
_LINK = r"\s*(?:=|≈|~|≃|:|of|is|at|near|around|about|close to|equal to)?\s*"
_EDGE_WORDS = r"(?:edge|side|end|wall|boundary|limit|hill|border)"
_MOTION = re.compile(
    r"\b(run|runs|running|move|moves|moving|walk\w*|hop\w*|go|goes|going|travel\w*|drive\w*|"
    r"sprint\w*|race|racing|locomot\w*|swim\w*|crawl\w*|fast|faster|speed|velocity|heading|"
    # "head" the verb ("head towards +x"), not the body part ("hold its head high").
    r"heads?(?=\s+(?:forwards?|backwards?|to|towards?|along|away|off|left|right|for)\b))\b"
)
_BACKWARD = re.compile(
    r"\bbackwards?\b|\bin reverse\b|\breverse direction\b|\(-x\)|\btowards? -x\b|"
    r"\bnegative x\b|\bleftwards?\b|\bto the left\b(?!\s+" + _EDGE_WORDS + r")|"
    r"\b(?:move|moves|moving|run|runs|running|go|goes|going|drive|drives|driving|walk|walks|"
    r"walking|head|heads|heading|travel|travels|travelling|traveling)\s+left\b"
)
_FORWARD = re.compile(
    r"\bforwards?\b|\(\+x\)|\btowards? \+x\b|\bpositive x\b|\brightwards?\b|"
    r"\bto the right\b(?!\s+" + _EDGE_WORDS + r")|"
    r"\b(?:move|moves|moving|run|runs|running|go|goes|going|drive|drives|driving|walk|walks|"
    r"walking|head|heads|heading|travel|travels|travelling|traveling)\s+right\b"
)
# "must not run off the track", "without moving backwards": the word is not the intent.
_NEGATED = re.compile(r"\b(?:not|n't|never|without|no|avoid\w*|stop\w*)\s+(?:\w+\s+){0,2}$")
_FAST = re.compile(r"as fast as|\bfast\b|\bfaster\b|\bquickly\b|\bmax\w* speed\b|\bsprint")
#: "do not move sideways" forbids one way of moving, not every way.
_QUALIFIED = (
    r"(?!\s+(?:later\w*|sideways|sidewards?|backwards?|forwards?|left|right|up|down|to|"
    r"towards?|along|away|off|much|too|beyond|past|out|outside|over)\b)"
)
_STILL = re.compile(
    r"\bstand(?:ing)? still\b|\bstay(?:s|ing)? (?:still|put|in place)\b|\bstationary\b|"
    r"\bwithout moving\b" + _QUALIFIED + r"|\bdo(?:n't| not) move\b" + _QUALIFIED + "|"
    r"\bhold (?:its |the )?position\b|\bin place\b|\bon the spot\b"
)
_SPEED = [
    re.compile(_NUM + r"\s*(?:m/s|metres? per second|meters? per second|mps)\b"),
    re.compile(r"\b(?:speed|velocity|pace)" + _LINK + _NUM),
]
_POSITION = [
    re.compile(r"(?<![\w.])x(?:[\s_-]*(?:position|coordinate|pos))?" + _LINK + _NUM + r"(?![\w])"),
    re.compile(r"\bposition" + _LINK + _NUM),
    # "balance with the cart at 0.5": a cart's place is its x.
    re.compile(
        r"\bcart\b(?:\s+\w+){0,3}?\s+(?:at|near|around|to)\s+" + _NUM + r"(?!\s*(?:m/s|deg|°|rad))"
    ),
]
#: "one metre to the left of the centre": a position by its side.
_OFFSET = re.compile(_NUM + r"\s*(?:m|metres?|meters?)\s+(?:to the\s+)?(left|right)\b")
#: "within 0.1 m of x = 0.5": a stated tolerance around a position, and that position.
_TOLERANCE = re.compile(
    r"\bwithin\s+(\d+(?:\.\d+)?)\s*m\b(?:\s+of\s+(?:the\s+)?x(?:\s*=\s*|\s+)(-?\d+(?:\.\d+)?))?"
)
_AXIS_Y = re.compile(
    r"(?<![\w.])([+-])\s?y\b|\balong (?:the )?(?:[+-]\s?)?y\b|\by[\s-](?:axis|direction)\b|"
    r"\bpositive y\b|\bnegative y\b|\bsideways\b|\bsidewards?\b|\blaterally\b"
)
_TURN = re.compile(r"\b(turn\w*|spin\w*|rotat\w*|pirouett\w*)\b")
_CLOCKWISE = re.compile(r"(?<!counter[- ])(?<!anti[- ])\bclockwise\b|\bturn\w* right\b")
_ARMS_UP = re.compile(
    r"\barms? (?:raised|up|overhead|above)|"
    r"\brais\w* (?:both |the |its |his |her )?(?:arms?|hands?)|"
    r"\bhands? (?:up|raised|above|overhead)"
)
_LAND = re.compile(r"\bland(?:s|ing|ed)?\b|\btouch ?down\b")
_FAR_SIDE = re.compile(r"\bas far (?:to the )?(left|right)\b|\bfar (?:to the )?(left|right)\b")
_SIDE = re.compile(r"\b(right|left)\s+" + _EDGE_WORDS + r"|\b(cent(?:er|re)|middle)\b")
_HEIGHT = [
    re.compile(r"\b(?:height|altitude)" + _LINK + r"(?:above\s*)?" + _NUM),
    re.compile(_NUM + r"\s*(?:m|metres?|meters?)\s+(?:high|tall|above the ground)\b"),
]
#: Height as the goal: "hop as high as possible" asks for nothing along x.
_HIGH_GOAL = re.compile(
    r"\bjump\w*|\bas high as\b|\bhigh as possible\b|\bmaximi[sz]e (?:the )?height|"
    r"\bstand(?:s|ing)? up\b|\bget(?:s|ting)? up\b|\brise\b|\bstand\w* tall\b"
)
#: Height as a manner: "walk keeping the torso high", "hold its head high".
_HIGH_MANNER = re.compile(
    r"\b(?:keep\w*|hold\w*|stay\w*|torso|body|head|hips?)\b(?:\s+\w+){0,3}?\s+high\b"
)
#: Words that change what is asked but that no rule reads, and how to say them instead.
_UNREAD = (
    (re.compile(r"\bslow(?:ly|er)?\b"), "'slowly' (say a speed: 'at 0.5 m/s')"),
    (
        re.compile(r"\blow(?:er|ered)?\b|\bcrouch\w*"),
        "'low' (say a height: 'at a height of 0.3 m')",
    ),
    (
        re.compile(r"\bgraceful\w*|\belegan\w*|\bnatural\w*|\bhuman-?like\b|\bstyl\w*"),
        "a style (no field measures it; --feedback human ranks videos of it)",
    ),
)
_ANGLE = re.compile(
    r"\b(?:angle|tilt\w*|lean\w*)" + _LINK + _NUM + r"\s*(deg\w*|°|rad\w*)?"
    # "hold the pendulum horizontal at 90 degrees": an angle by its unit alone.
    r"|\b(?:at|to)\s+" + _NUM + r"\s*(deg\w*|°|rad\w*)"
)
_UPRIGHT = re.compile(
    r"balanc|upright|vertical|without falling|n't fall|not fall|stay(?:s|ing)? up\b|"
    r"\bkeep\b.*\bup\b|\bstand\w*|\bswing\w* (?:it )?up\b|"
    # "keep the hull level": level is upright for a body that walks or flies.
    r"\b(?:keep\w*|hold\w*|stay\w*|fly\w*)\b(?:\s+\w+){0,3}?\s+level\b"
)
_GOAL = re.compile(r"\b(reach\w*|goal|target|flag|destination|get to)\b")
_SMOOTH = re.compile(
    r"smooth|gentl|efficien|\benergy\b|\blittle (?:effort|force|torque)|"
    r"\bminimal (?:effort|force|torque)|\bcalm"
)
_STABLE = re.compile(
    r"\bstable\b|\bsteady\b|without (?:wobbl|spin|oscillat|shak)|\bno (?:wobbl|spin|oscillat)|"
    r"n't (?:wobbl|spin|oscillat|shake)|not (?:wobbl|spin|oscillat|shake)"
)


@dataclass
class Intent:
    """What the description asks for.

    Args:
        direction: ``+1`` forward/right, ``-1`` backward/left, ``None`` when no motion asked.
        fast: "as fast as possible".
        target_speed: Speed to hold (magnitude; ``direction`` gives the sign).
        still: Stay in place.
        target_x: Position to hold.
        x_side: ``+1`` right edge, ``-1`` left edge, ``0`` centre (without a number).
        target_height: Height to hold.
        high: Get as high as possible.
        target_angle: Angle to hold, in radians.
        upright: Balance / stay upright / don't fall.
        goal: Reach a goal.
        smooth: Move smoothly / efficiently.
        stable: Avoid wobbling / spinning.
        axis: ``"x"`` or ``"y"``: which horizontal axis ``direction`` refers to.
        turn: ``+1`` turn counter-clockwise (left), ``-1`` clockwise, ``None`` no turning.
        arms_up: Raise the arms / hands.
        land: Land (come to rest on the ground).
        tolerance: How close to ``target_x`` (or, for a reaching task, to the goal)
            counts, in metres, when the words say ("within 0.1 m of x = 0.5", "success
            is within 0.02 m").
        read: What was read, one phrase each (for the prompt record).
        unread: Words it has no rule for that change what is asked ("slowly", "low"),
            each with how to say it instead.
    """

    direction: int | None = None
    fast: bool = False
    target_speed: float | None = None
    still: bool = False
    target_x: float | None = None
    x_side: int | None = None
    target_height: float | None = None
    high: bool = False
    target_angle: float | None = None
    upright: bool = False
    goal: bool = False
    smooth: bool = False
    stable: bool = False
    axis: str = "x"
    turn: int | None = None
    arms_up: bool = False
    land: bool = False
    tolerance: float | None = None
    read: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    def drop_direction_read(self) -> None:
        """Forget what was read as a direction (a later rule replaced it)."""
        self.read = [r for r in self.read if not r.startswith("direction ")]

    def drop_direction(self) -> None:
        """No direction after all ("move to x = 2" is a place, not a way to move)."""
        self.direction = None
        self.drop_direction_read()

    @property
    def has_objective(self) -> bool:
        """Whether the text names something to achieve (not only a manner)."""
        return any(
            (
                self.direction is not None,
                self.target_speed is not None,
                self.still,
                self.target_x is not None,
                self.x_side is not None,
                self.target_height is not None,
                self.high,
                self.target_angle is not None,
                self.goal,
                self.upright,
                self.turn is not None,
                self.arms_up,
                self.land,
            )
        )


_NUMBER_WORDS = {
    "half a": "0.5", "half an": "0.5", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
#: "one metre per second", "half a metre", "ninety degrees" stays unread: words before a unit.
_WORD_BEFORE_UNIT = re.compile(
    r"\b(half an?|one|two|three|four|five|six|seven|eight|nine|ten)\b"
    r"(?=\s*(?:m\b|m/s|metres?\b|meters?\b|degrees?\b|rad\b|radians?\b))"
)


def _normalise(text: str) -> str:
    text = text.lower()
    # Unicode minus, en and em dashes, and the typographic apostrophe.
    for dash in ("\u2212", "\u2013", "\u2014"):
        text = text.replace(dash, "-")
    text = _WORD_BEFORE_UNIT.sub(lambda m: _NUMBER_WORDS[m.group(1)], text)
    return text.replace("\u2019", "'")


def _affirmed(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` that is not negated by the words just before it."""
    for match in pattern.finditer(text):
        if not _NEGATED.search(text[max(0, match.start() - 30) : match.start()]):
            return match
    return None


def read_intent(text: str) -> Intent:
    """Parse one description into an :class:`Intent`."""
    t = _normalise(text)
    intent = Intent()
    backward, forward = _affirmed(_BACKWARD, t), _affirmed(_FORWARD, t)
    moving = _affirmed(_MOTION, t)
    if _STILL.search(t):
        intent.still = True
        intent.read.append("stay still")
    elif backward and (moving or not forward):
        intent.direction = -1
        intent.read.append(f"direction -1 ({backward.group(0).strip()!r})")
    elif forward or moving:
        intent.direction = 1
        why = forward.group(0).strip() if forward else moving.group(0)
        intent.read.append(f"direction +1 ({why!r})")
    for pattern in _SPEED:
        match = pattern.search(t)
        if match:
            value = float(match.group(1))
            intent.target_speed = abs(value)
            if value < 0:
                intent.direction = -1
            elif intent.direction is None:
                intent.direction = 1
            intent.read.append(f"target speed {abs(value):g}")
            break
    if intent.direction is not None and intent.target_speed is None and _affirmed(_FAST, t):
        intent.fast = True
        intent.read.append("as fast as possible")
    _read_axis_and_turn(t, intent, explicit=bool(backward or forward))
    _read_position(t, intent)
    read_tolerance(t, intent)
    _read_height(t, intent, explicit=bool(backward or forward))
    angle = _ANGLE.search(t)
    if angle:
        value = float(angle.group(1) or angle.group(3))
        unit = angle.group(2) or angle.group(4) or ""
        intent.target_angle = value if unit.startswith("rad") else math.radians(value)
        intent.read.append(f"target angle {intent.target_angle:.3g} rad")
    flags = (
        ("upright", _UPRIGHT),
        ("goal", _GOAL),
        ("smooth", _SMOOTH),
        ("stable", _STABLE),
        ("arms_up", _ARMS_UP),
        ("land", _LAND),
    )
    for name, pattern in flags:
        if pattern.search(t):
            setattr(intent, name, True)
            intent.read.append(name)
    intent.unread = [say for pattern, say in _UNREAD if _affirmed(pattern, t)]
    # "move the fingertip onto the target": the verb names the goal, not a direction.
    explicit = bool(backward or forward) or intent.axis == "y"
    if intent.goal and not explicit and not intent.fast and intent.target_speed is None:
        intent.drop_direction()
    return intent


def _read_axis_and_turn(t: str, intent: Intent, explicit: bool) -> None:
    axis = _affirmed(_AXIS_Y, t)
    if axis:
        intent.axis = "y"
        negative = axis.group(1) == "-" or "negative" in axis.group(0) or "-y" in axis.group(0)
        intent.direction = -1 if negative else 1
        intent.drop_direction_read()
        intent.read.append(f"axis y, direction {intent.direction:+d}")
    turn = _affirmed(_TURN, t)
    if turn:
        intent.turn = -1 if _CLOCKWISE.search(t) else 1
        intent.read.append(f"turn {intent.turn:+d}")
        # "turn as fast as possible" is about turning, not about moving along x.
        if not explicit and not axis and intent.target_speed is None:
            intent.direction = None
            intent.fast = False


def _read_position(t: str, intent: Intent) -> None:
    far = _FAR_SIDE.search(t)
    if far:
        intent.x_side = 1 if (far.group(1) or far.group(2)) == "right" else -1
        intent.read.append(f"x side {intent.x_side:+d} (as far as allowed)")
        if intent.target_speed is None:
            intent.drop_direction()
        return
    for pattern in (*_POSITION, _OFFSET):
        match = pattern.search(t)
        if match:
            sign = -1.0 if pattern is _OFFSET and match.group(2) == "left" else 1.0
            intent.target_x = sign * float(match.group(1))
            intent.read.append(f"target x {intent.target_x:g}")
            # "at x = 0.5" is a place to be, not a way to move.
            if intent.direction is not None and intent.target_speed is None and not intent.fast:
                intent.drop_direction()
            return
    side = _SIDE.search(t)
    if side:
        intent.x_side = {"right": 1, "left": -1}.get(side.group(1) or "", 0)
        intent.read.append(f"x side {intent.x_side:+d}")


def read_tolerance(text: str, intent: Intent) -> None:
    """Set ``intent.tolerance`` from "within T m [of x = X]" in ``text``.

    For a reaching task (``intent.goal``, no target x) a bare "within T m" is how close to
    the goal counts.

    A tolerance that names a position counts only when it is the intent's own target, so
    a fitness written for x = 0.5 does not narrow a user's "hold x = 1".
    """
    match = _TOLERANCE.search(_normalise(text))
    if not match or intent.tolerance is not None:
        return
    if intent.target_x is None:
        # "success is within 0.02 m" of a reaching task: how close to the goal counts.
        if not intent.goal or match.group(2) is not None:
            return
    elif match.group(2) is not None and abs(float(match.group(2)) - intent.target_x) > 1e-9:
        return
    intent.tolerance = float(match.group(1))
    intent.read.append(f"tolerance {intent.tolerance:g} m")


def _read_height(t: str, intent: Intent, explicit: bool) -> None:
    for pattern in _HEIGHT:
        match = pattern.search(t)
        if match:
            intent.target_height = float(match.group(1))
            intent.read.append(f"target height {intent.target_height:g}")
            break
    else:
        goal = _HIGH_GOAL.search(t)
        if not goal and not _HIGH_MANNER.search(t):
            return
        intent.high = True
        intent.read.append("as high as possible")
        if not goal:
            return
    # "hop as high as possible", "hop at a height of 1.3 m": the verb names no direction.
    if not explicit and not intent.fast and intent.target_speed is None and intent.direction:
        intent.drop_direction()


def intent_for(description: str, fallback: str) -> Intent:
    """The intent of ``description``; ``fallback`` text fills in when it names no objective.

    Args:
        description: The user's words.
        fallback: The task's default description and fitness meaning.
    """
    primary = read_intent(description)
    if primary.has_objective:
        return primary
    backup = read_intent(fallback)
    # Keep the user's manner (smooth, stable) and take the objective from the task.
    backup.smooth = backup.smooth or primary.smooth
    backup.stable = backup.stable or primary.stable
    backup.read = [*primary.read, *(f"{r} (from the task's default)" for r in backup.read)]
    return backup
