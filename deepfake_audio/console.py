"""What the commands print and read: their argument parsers, help texts without
reStructuredText markup, metrics to four significant digits."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping

_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]+\.)?([\w]+)`")  # :class:`~.x.Name` -> Name


def plain(text: str) -> str:
    """Docstring text as plain text: ``code`` -> code, :class:`~.a.B` -> B."""
    return _ROLE.sub(r"\1", text).replace("``", "")


class _Plain:
    """Descriptions and option help as plain text (a mixin for help formatters)."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(plain(text))  # type: ignore[misc]

    def _expand_help(self, action: argparse.Action) -> str:
        return plain(super()._expand_help(action))  # type: ignore[misc]

    def start_section(self, heading: str | None) -> None:
        super().start_section(plain(heading) if heading else heading)  # type: ignore[misc]


class PlainHelpFormatter(_Plain, argparse.RawDescriptionHelpFormatter):
    """argparse help in plain text."""


def command_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The argument parser of a ``deepfake`` subcommand, with help in plain text."""
    return argparse.ArgumentParser(
        formatter_class=PlainHelpFormatter, prog=prog, description=description
    )


def split_passed_on(args: list[str]) -> tuple[list[str], list[str]]:
    """A command's own arguments, and those after ``--`` that it passes on to every fit and
    test it starts."""
    split = args.index("--") if "--" in args else len(args)
    return args[:split], args[split + 1 :]


def plain_jsonargparse_formatter() -> type:
    """jsonargparse's help formatter, in plain text (jsonargparse loads only here)."""
    from jsonargparse import DefaultHelpFormatter

    return type("PlainDefaultHelpFormatter", (_Plain, DefaultHelpFormatter), {})


def format_metrics(metrics: Mapping[str, float]) -> str:
    """A two-column table of metrics, each value to four significant digits."""
    width = max(map(len, metrics), default=0)
    return "\n".join(f"  {name:<{width}}  {value:.4g}" for name, value in metrics.items())
