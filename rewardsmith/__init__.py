"""rewardsmith: reward functions for RL, written by LLMs (or offline), checked, trained and compared."""

__version__ = "0.1.0"
