"""rewardsmith: reward functions for RL, written by LLMs or offline, checked and trained."""

__version__ = "0.1.0"
