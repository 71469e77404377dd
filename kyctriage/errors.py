"""The exceptions kyctriage raises; anything else escaping the library is a bug."""


class KyctriageError(Exception):
    """A fatal error of the run (not of one file): the CLI prints it and exits 1."""


class UsageError(KyctriageError):
    """The request itself is wrong (a missing root, a bad option value): exit 2."""


class FileProblem(Exception):
    """One file cannot be read or parsed; becomes that file's one-line error."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut to limit characters; its type if it has none."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__
