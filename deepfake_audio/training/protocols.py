"""Training protocols: each trains configs (through the LightningCLI) and returns the run
folders of the fits and tests it made, for :mod:`deepfake_audio.evaluate.tables` to tabulate.

- one fit and test per config and seed (:func:`train_and_test`);
- leave one out: one fit per attack, source, corpus or speaker the corpora name, that one
  held out of training and validation and tested on;
- cross-validation: one fit per fold, tested on that fold.
"""

from __future__ import annotations

from pathlib import Path

from deepfake_audio.data.split import groups_of
from deepfake_audio.errors import UserError
from deepfake_audio.runs import RunFolder
from deepfake_audio.training.cli import DeepfakeCLI


def train_and_test(config: Path, seed: int, extra: list[str]) -> Path:
    """Fit ``config`` with one seed, test its best checkpoint; return the run folder."""
    fitted = DeepfakeCLI(args=["fit", f"--config={config}", f"--seed_everything={seed}", *extra])
    run = RunFolder(Path(fitted.trainer.log_dir))
    DeepfakeCLI(args=["test", f"--config={config}", f"--ckpt_path={run.checkpoint()}", *extra])
    return run.path


def held_out_values(config: Path, group: str, extra: list[str]) -> list[str]:
    """The values of ``group`` that the corpora of ``config`` (with ``extra`` options) name and
    a leave-one-out fold can test: attacks, and other groups with clips of both classes."""
    cli = DeepfakeCLI(args=[f"--config={config}", *extra], run=False)
    clips = cli.datamodule.index()
    values = groups_of(clips, group)
    if group != "attack":
        both = [v for v in values if len({c.label for c in clips if getattr(c, group) == v}) == 2]
        if len(both) < len(values):
            skipped = sorted(set(values) - set(both))
            named = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
            print(f"deepfake compare: skipping {len(skipped)} {group}(s) of one class: {named}")
        values = both
    if len(values) < 2:
        raise UserError(
            f"leave-one-{group}-out needs corpora that name at least two {group}s it can test; "
            f"{cli.datamodule.corpus_label} names {values or 'none'}"
        )
    return values


def training_seeds(count: int) -> range:
    """The seeds that ``--seeds COUNT`` trains with: 42, 43, ..."""
    return range(42, 42 + count)


def leave_one_out(
    configs: list[Path], group: str, values: list[str] | None, seeds: int, extra: list[str]
) -> dict[str, dict[str, list[Path]]]:
    """Run folders per config and held-out value of ``group`` (every one the corpora name, or
    ``values``), one per seed."""
    values = values or held_out_values(configs[0], group, extra)
    options = [f"--data.split.held_out_group={group}"]
    return {
        config.stem: {
            value: [
                train_and_test(config, seed, [*extra, *options, f"--data.split.held_out={value}"])
                for seed in training_seeds(seeds)
            ]
            for value in values
        }
        for config in configs
    }


def cross_validation(
    configs: list[Path], folds: int, seeds: int, extra: list[str]
) -> dict[str, list[list[Path]]]:
    """Run folders per config and seed, one per test fold."""
    return {
        config.stem: [
            [
                train_and_test(
                    config,
                    seed,
                    [*extra, f"--data.split.folds={folds}", f"--data.split.test_fold={fold}"],
                )
                for fold in range(folds)
            ]
            for seed in training_seeds(seeds)
        ]
        for config in configs
    }
