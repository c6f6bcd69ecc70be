"""The ``deepfake`` command: a thin front that imports only what the chosen subcommand needs.

Training subcommands go to the LightningCLI (:mod:`deepfake_audio.training.cli`); the others
are plain programs that start without Lightning.
"""

from __future__ import annotations

import sys
import warnings
from importlib import import_module

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
    for words, (module, _) in COMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            raise SystemExit(import_module(module).main(argv[len(words) :]))
    if argv[:1] and argv[0] in (*LIGHTNING, SEARCH) or argv[:1] == ["--print_config"]:
        from deepfake_audio.training.cli import DeepfakeCLI

        if argv[0] == SEARCH:  # the run record keeps the command as typed (sys.argv)
            args = ["fit", *argv[1:]]
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        DeepfakeCLI(args=args)  # None: LightningCLI reads sys.argv itself, as usual
        return
    listing = "\n".join(f"  {' '.join(w):<10} {text}" for w, (_, text) in COMMANDS.items())
    print(USAGE.format(commands=listing))
    if argv and argv[0] not in ("-h", "--help"):
        raise SystemExit(f"deepfake: unknown subcommand {argv[0]!r}")


if __name__ == "__main__":
    main()
