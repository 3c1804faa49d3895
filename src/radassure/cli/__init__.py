"""The ``radassure`` command line."""

from radassure.cli.main import app, main

__all__ = ["app", "main"]
