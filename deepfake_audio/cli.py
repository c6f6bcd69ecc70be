"""The ``deepfake`` command: a thin front that imports only what the chosen subcommand needs,
and the one error boundary of every subcommand.

Training subcommands go to the LightningCLI (:mod:`deepfake_audio.training.cli`); the others
are plain programs that start without Lightning. A user error (:data:`~.errors.USER_ERRORS`)
ends with one line, ``deepfake <command>: error: <what>``, and exit status 2; ``--traceback``
or ``DEEPFAKE_DEBUG=1`` shows the whole trace instead.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module

from deepfake_audio.errors import USER_ERRORS, UserError, one_line

LIGHTNING = ("fit", "validate", "test", "predict")
SEARCH = "search"  # a fit whose config names the DARTS search model
COMMANDS = {  # words -> (module with main(args) -> int, what it does)
    ("data", "check"): ("deepfake_audio.data.check", "check a corpus: layout, split, bad files"),
    ("eda",): ("deepfake_audio.data.eda", "explore a corpus: durations, levels, spectra"),
    ("compare",): ("deepfake_audio.training.compare", "train or collect runs; tables and plots"),
    ("robustness",): (
        "deepfake_audio.evaluate.robustness",
        "EER under unseen conditions: telephone, noise, reverb",
    ),
    ("detect",): ("deepfake_audio.serve.detect", "score audio files and folders with a model"),
    ("fuse",): ("deepfake_audio.training.fusion", "learn a score fusion of trained models"),
    ("export",): ("deepfake_audio.serve.export", "write a self-contained model package"),
    ("serve",): ("deepfake_audio.serve.app", "web app: upload or record audio, get a verdict"),
}

USAGE = """usage: deepfake SUBCOMMAND [options]   (deepfake SUBCOMMAND --help for its options)

Train and evaluate (LightningCLI, configs in configs/):
  fit        train a detector              deepfake fit --config configs/resnet18.yaml
  validate   validate a checkpoint
  test       test a checkpoint (default: the best of the latest fit of the config)
  predict    score the test split
  search     DARTS architecture search: a fit that writes the derived cell to genotype.json
             deepfake search --config configs/darts_search.yaml
             then: deepfake fit --config configs/darts.yaml \
                  --model.init_args.network.init_args.genotype FILE

Data, evaluation and use:
{commands}
"""


def main(args: list[str] | None = None) -> None:
    """Console entry point."""
    argv = sys.argv[1:] if args is None else list(args)
    debug = "--traceback" in argv or os.environ.get("DEEPFAKE_DEBUG") == "1"
    argv = [arg for arg in argv if arg != "--traceback"]
    command = _command(argv)
    try:
        _run(argv, typed=args is None)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except USER_ERRORS as error:
        if debug:
            raise
        print(f"deepfake {command}: error: {one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None


def _command(argv: list[str]) -> str:
    """The subcommand's words (``data check``, ``fit``), for messages."""
    for words in COMMANDS:
        if tuple(argv[: len(words)]) == words:
            return " ".join(words)
    return argv[0] if argv and not argv[0].startswith("-") else ""


def _run(argv: list[str], typed: bool) -> None:
    for words, (module, _) in COMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            raise SystemExit(import_module(module).main(argv[len(words) :]))
    if argv[:1] and argv[0] in (*LIGHTNING, SEARCH) or argv[:1] == ["--print_config"]:
        from deepfake_audio.training.cli import DeepfakeCLI

        # As typed, LightningCLI reads sys.argv itself; given (search is a fit, --traceback is
        # ours), the run record still keeps the command as typed.
        args = ["fit", *argv[1:]] if argv[0] == SEARCH else argv
        DeepfakeCLI(args=None if typed and args == sys.argv[1:] else args)
        return
    listing = "\n".join(f"  {' '.join(w):<10} {text}" for w, (_, text) in COMMANDS.items())
    words = [" ".join(w) for w in COMMANDS]
    if argv[:1] == ["data"] and argv[1:2] in ([], ["-h"], ["--help"]):
        print("usage: deepfake data check [options]   (deepfake data check --help)")
        return
    print(USAGE.format(commands=listing))
    if argv and argv[0] not in ("-h", "--help"):
        raise UserError(f"unknown subcommand {argv[0]!r}; choose one of {', '.join(words)}")


if __name__ == "__main__":
    main()
