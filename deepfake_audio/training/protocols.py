"""Training protocols: each trains configs (through the LightningCLI) and returns the run
folders of the fits and tests it made, for :mod:`deepfake_audio.evaluate.tables` to tabulate.

- one fit and test per config and seed (:func:`train_and_test`);
- leave one attack out: one fit per attack the corpus names, that attack held out;
- cross-validation: one fit per fold, tested on that fold.
"""

from __future__ import annotations

from pathlib import Path

from deepfake_audio.data.split import attacks_of
from deepfake_audio.runs import RunFolder
from deepfake_audio.training.cli import DeepfakeCLI


def train_and_test(config: Path, seed: int, extra: list[str]) -> Path:
    """Fit ``config`` with one seed, test its best checkpoint; return the run folder."""
    fitted = DeepfakeCLI(args=["fit", f"--config={config}", f"--seed_everything={seed}", *extra])
    run = RunFolder(Path(fitted.trainer.log_dir))
    DeepfakeCLI(args=["test", f"--config={config}", f"--ckpt_path={run.checkpoint()}", *extra])
    return run.path


def corpus_attacks(config: Path, extra: list[str]) -> list[str]:
    """The attacks named by the corpus that ``config`` (with ``extra`` options) trains on."""
    cli = DeepfakeCLI(args=[f"--config={config}", *extra], run=False)
    attacks = attacks_of(cli.datamodule.index())
    if len(attacks) < 2:
        raise SystemExit(
            f"deepfake compare: leave-one-attack-out needs a corpus that names at least two "
            f"attacks (generators) of its spoof clips; {cli.datamodule.corpus_root} names "
            f"{attacks or 'none'}"
        )
    return attacks


def training_seeds(count: int) -> range:
    """The seeds that ``--seeds COUNT`` trains with: 42, 43, ..."""
    return range(42, 42 + count)


def leave_one_attack_out(
    configs: list[Path], seeds: int, extra: list[str]
) -> dict[str, dict[str, list[Path]]]:
    """Run folders per config and held-out attack, one per seed."""
    folds: dict[str, dict[str, list[Path]]] = {}
    attacks = corpus_attacks(configs[0], extra)
    for config in configs:
        folds[config.stem] = {
            attack: [
                train_and_test(config, seed, [*extra, f"--data.split.held_out_attack={attack}"])
                for seed in training_seeds(seeds)
            ]
            for attack in attacks
        }
    return folds


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
