"""The ``rewardsmith`` command line: the only package that prints.

``core`` holds the typer app, the entry point and the run commands; each further
command group lives in its own module here and registers itself on that app when
imported below. Heavy libraries are imported inside commands, so ``--help`` stays instant.
"""

# Imported in --help's order; each registers its commands on core's app.
import rewardsmith.cli.inspection  # noqa: F401
from rewardsmith.cli import (  # noqa: F401
    campaign,
    export,
    rank,
    report,
)
from rewardsmith.cli.core import app, main

__all__ = ["app", "main"]
