"""``python -m rewardsmith.cli``: the same as the console script."""

from rewardsmith.cli import main

main()
