"""One exception type for every user-facing failure.

The CLI prints ``error: <message>`` and exits with status 2 for these, without a traceback: each message is a single
line that names the offending file, key or name and says what to do about it.
"""


class SrbenchError(Exception):
    """A bad input (file, name, checkpoint, experiment key) with a one-line, actionable message."""
