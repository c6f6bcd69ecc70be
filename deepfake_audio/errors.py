"""User errors: what a mistake in a command's input raises, for the ``deepfake`` front to
report as one line (:func:`one_line`) instead of a traceback."""

from __future__ import annotations

import argparse
import re


class UserError(ValueError):
    """A mistake in a command's input (a path, a value, a model): the message says which and
    what to do."""


# Library errors that carry a message a user can act on. Anything else is a bug: traceback.
USER_ERRORS = (UserError, ValueError, OSError, ImportError, argparse.ArgumentError)
_NOISE = re.compile(
    r"^(- )?(Does not validate against any of the Union subtypes|Subtypes: |Errors:|"
    r"Given value|Expected a <class 'NoneType'>|Problem with given class_path)"
)


def one_line(error: BaseException) -> str:
    """The gist of an error message on one line. jsonargparse's nested messages ("Parser key
    "data": Does not validate ... Option 'x' is not accepted") keep the key and the innermost
    reason."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    key = re.match(r'Parser key "([^"]+)":?\s*(.*)', lines[0])
    if key:
        lines = [key.group(2), *lines[1:]] if key.group(2) else lines[1:]
    reasons = [line.removeprefix("- ") for line in lines if not _NOISE.match(line)]
    reason = reasons[-1] if reasons else lines[0]
    return f"--{key.group(1)}: {reason}" if key else reason
