"""Training protocols: each trains configs (through the LightningCLI) and returns the run
folders of the fits and tests it made, for :mod:`deepfake_audio.evaluate.tables` to tabulate.

- one fit and test per config and seed (:func:`train_and_test`);
- leave one out: one fit per attack, source, corpus or speaker the corpora name (or per fold
  of several of them), held out of training and validation and tested on;
- cross-validation: one fit per fold, tested on that fold.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from deepfake_audio.data.split import groups_of
from deepfake_audio.errors import UserError
from deepfake_audio.files import atomic_write_text
from deepfake_audio.runs import RunFolder
from deepfake_audio.training.cli import DeepfakeCLI


def train_and_test(config: Path, seed: int, extra: list[str], reuse: bool = False) -> Path:
    """Fit ``config`` with one seed, test its best checkpoint; return the run folder. A fusion
    recipe (:mod:`~deepfake_audio.training.fusion`) fits and tests its members, then fuses
    them. With ``reuse``, a run of the same config's settings, seed and options that was
    already fitted and tested, or fused (its ``protocol.json`` says so), is returned instead."""
    from deepfake_audio.training import fusion

    members = fusion.member_configs(config)
    record = _record(config, seed, extra, members or [])
    if reuse:
        first = DeepfakeCLI(args=[f"--config={(members or [config])[0]}", *extra], run=False)
        experiment = first.experiment_dir.parent / config.stem if members else first.experiment_dir
        for run in sorted(experiment.glob("version_*")):
            folder = RunFolder(run)
            done = folder.metrics.is_file() and folder.protocol.is_file()
            if done and json.loads(folder.protocol.read_text()) == record:
                print(f"deepfake compare: reusing {run}, fitted and tested with the same options")
                return run
    if members:
        run = RunFolder(fusion.train_and_fuse(config, seed, extra, reuse))
    else:
        fit = ["fit", f"--config={config}", f"--seed_everything={seed}", *extra]
        fitted = DeepfakeCLI(args=fit)
        run = RunFolder(Path(fitted.trainer.log_dir))
        DeepfakeCLI(args=["test", f"--config={config}", f"--ckpt_path={run.checkpoint()}", *extra])
    atomic_write_text(run.protocol, json.dumps(record, indent=2) + "\n")
    return run.path


def _record(config: Path, seed: int, extra: list[str], members: Sequence[Path] = ()) -> dict:
    """What makes two protocol runs the same: the config's settings (its parsed YAML: comments
    and layout do not count) and, for a fusion recipe, those of its ``members``, the seed, the
    options."""
    parsed = [yaml.safe_load(path.read_text()) for path in (config, *members)]
    settings = json.dumps(parsed if members else parsed[0], sort_keys=True)
    digest = hashlib.sha256(settings.encode()).hexdigest()
    return {"config": config.name, "settings_sha256": digest, "seed": seed, "options": extra}


def leave_out_folds(
    config: Path, group: str, values: list[str] | None, folds: int | None, extra: list[str]
) -> dict[str, tuple[str, ...]]:
    """The folds of a leave-one-out protocol and the values of ``group`` each holds out: one
    per value (``values``, or every one the corpora of ``config`` name that a fold can test),
    or with ``folds`` the values dealt into that many folds, largest first, each to the fold
    with the fewest clips so far (so the folds' test splits are of similar size). A fusion
    recipe's corpora are those of its first member."""
    from deepfake_audio.training import fusion  # it fits through this module

    config = (fusion.member_configs(config) or [config])[0]
    cli = DeepfakeCLI(args=[f"--config={config}", *extra], run=False)
    clips = cli.datamodule.index()
    values = values or testable_values(clips, group, cli.datamodule.corpus_label)
    if folds is None:
        return {value: (value,) for value in values}
    if group == "attack":
        raise UserError("attacks are held out one at a time: --folds is for other groups")
    if not 2 <= folds <= len(values):
        raise UserError(f"--folds must be 2 to the {len(values)} {group}s held out, got {folds}")
    sizes = Counter(getattr(clip, group) for clip in clips)
    dealt: list[list[str]] = [[] for _ in range(folds)]
    for value in sorted(values, key=lambda v: (-sizes[v], v)):
        min(dealt, key=lambda fold: sum(sizes[v] for v in fold)).append(value)
    return {f"fold {index + 1}": tuple(sorted(fold)) for index, fold in enumerate(dealt)}


def testable_values(clips: list, group: str, corpus: str) -> list[str]:
    """The values of ``group`` the clips name that a leave-one-out fold can test: attacks,
    and other groups with clips of both classes."""
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
            f"{corpus} names {values or 'none'}"
        )
    return values


def training_seeds(count: int) -> range:
    """The seeds that ``--seeds COUNT`` trains with: 42, 43, ..."""
    return range(42, 42 + count)


def leave_one_out(
    configs: list[Path],
    group: str,
    folds: dict[str, tuple[str, ...]],
    seeds: int,
    extra: list[str],
    reuse: bool = False,
) -> dict[str, dict[str, list[Path]]]:
    """Run folders per config and fold (see :func:`leave_out_folds`), one per seed (``reuse``:
    see :func:`train_and_test`)."""
    options = [f"--data.split.held_out_group={group}"]
    return {
        config.stem: {
            fold: [
                train_and_test(config, seed, [*extra, *options, _held_out_option(held)], reuse)
                for seed in training_seeds(seeds)
            ]
            for fold, held in folds.items()
        }
        for config in configs
    }


def _held_out_option(values: tuple[str, ...]) -> str:
    """``--data.split.held_out``: one value as it is, several as a JSON list."""
    held = values[0] if len(values) == 1 else json.dumps(list(values))
    return f"--data.split.held_out={held}"


def cross_validation(
    configs: list[Path], folds: int, seeds: int, extra: list[str], reuse: bool = False
) -> dict[str, list[list[Path]]]:
    """Run folders per config and seed, one per test fold (``reuse``: see
    :func:`train_and_test`)."""
    return {
        config.stem: [
            [
                train_and_test(
                    config,
                    seed,
                    [*extra, f"--data.split.folds={folds}", f"--data.split.test_fold={fold}"],
                    reuse,
                )
                for fold in range(folds)
            ]
            for seed in training_seeds(seeds)
        ]
        for config in configs
    }
