"""Errors a user can cause or fix. The CLI prints them as one line and exits non-zero."""


class ShardlineError(Exception):
    """A problem the user can act on (bad flag, missing tool, port taken, ...)."""

    exit_code = 2
