"""Writing result files so that a killed process never leaves half a file that looks whole, and
paths as records show them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_write(path: Path, mode: str = "w", **open_options) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` only once the
    block finished without an error."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    if "b" not in mode:
        open_options.setdefault("encoding", "utf-8")
        open_options.setdefault("newline", "")
    try:
        with temporary.open(mode, **open_options) as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def portable(path: str | Path) -> str:
    """A path as records, cards and reports show it: an absolute one relative to the working
    directory (climbing with ``..`` where it must), so that no record names the folders of the
    machine it was made on."""
    return os.path.relpath(path) if os.path.isabs(path) else str(path)


def portable_command(arguments: list[str]) -> list[str]:
    """A command's arguments with absolute paths (``PATH`` or ``--option=PATH``) made
    :func:`portable`."""
    shown = []
    for argument in arguments:
        option, equals, value = argument.rpartition("=")
        if equals and os.path.isabs(value):
            shown.append(f"{option}={portable(value)}")
        else:
            shown.append(portable(argument) if os.path.isabs(argument) else argument)
    return shown


def paths_text(paths: str | Path | list | None, default: str = "unknown") -> str:
    """One path, or several joined by commas (a ``data.root`` as a card or table names it)."""
    if isinstance(paths, list):
        return ", ".join(map(str, paths))
    return str(paths or default)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as handle:
        handle.write(text)
