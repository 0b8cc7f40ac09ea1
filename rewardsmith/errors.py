"""Errors that mean "the user asked for something that cannot be done" (CLI exit code 2)."""


class UserError(Exception):
    """Bad input: the message is one line that names the problem and the fix."""


class RunFailed(Exception):
    """The run itself failed (CLI exit code 1); results so far are on disk."""
