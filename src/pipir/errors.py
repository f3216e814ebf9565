"""The one exception type a user mistake raises; the CLI turns it into a sentence and exit code 2."""


class PipirError(Exception):
    """A user-facing error: the message is one clear sentence, no traceback needed."""
