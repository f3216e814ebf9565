"""The one exception type a user mistake raises; the CLI turns it into a sentence and exit code 2."""


class PipirError(Exception):
    """A user-facing error: the message is one clear sentence, no traceback needed."""


def require(module: str, extra: str, what: str) -> None:
    """One sentence naming the extra to install when ``what`` needs a package that is missing."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise PipirError(f"{what} needs {module}: pip install 'pipir[{extra}]'") from None
