"""`rewardsmith show`'s notes: long verdicts are cut at a word, never mid-word."""

from rewardsmith.agent.run_summary import _clip

HALVING = (
    "successive halving stopped it after 503,808 of 1,000,000 env steps: its fitness 0.7959 "
    "was not in the best 1/2 of the 2 candidates"
)


def test_short_notes_are_whole_and_long_ones_end_at_a_word() -> None:
    assert _clip(HALVING) == HALVING
    long = "; ".join([HALVING, HALVING])
    clipped = _clip(long)
    assert clipped.endswith(" ...") and len(clipped) <= 164
    assert long.startswith(clipped[:-4])
    assert long[len(clipped) - 4] in " ;"  # the cut falls between words
