"""Run folders: where a fit and the tests of its checkpoints write, and the one place their
layout is spelled.

    <trainer.default_root_dir>/<config name>/version_N/
        config.yaml  environment.json   (config-test.yaml ... for later stages)
        checkpoints/best.ckpt  checkpoints/last.ckpt
        splits.csv  data_report.txt  unreadable.csv
        metrics.json  scores.csv  scores.txt
        protocol.json   (a run of deepfake compare: config, seed and options)
        predictions.csv   (deepfake predict)
        genotype.json   (architecture searches)

``python -m deepfake_audio.runs latest DIR`` prints the newest run folder of an experiment
folder (for scripts and the Makefile).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEST, LAST = "best", "last"
_VERSION = re.compile(r"version_(\d+)")


@dataclass(frozen=True)
class RunFolder:
    """One run's folder and the paths of what it holds."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of(cls, path: str | Path) -> RunFolder:
        """The run folder of a run folder or of a checkpoint inside it."""
        path = Path(path)
        return cls(path.parent.parent if path.suffix == ".ckpt" else path)

    @classmethod
    def latest(cls, experiment: Path, checkpoint: str | None = None) -> RunFolder | None:
        """The newest run (highest ``version_N``) of an experiment folder; with
        ``checkpoint`` (``best``/``last``), the newest that has that checkpoint."""
        runs = [cls(folder) for folder in Path(experiment).glob("version_*")]
        runs = [r for r in runs if r.version is not None]
        if checkpoint is not None:
            runs = [run for run in runs if run.checkpoint(checkpoint).is_file()]
        return max(runs, key=lambda run: run.version) if runs else None

    @property
    def label(self) -> str:
        """The run named by its experiment (config) and version: ``best/version_0``."""
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def version(self) -> int | None:
        """N of a ``version_N`` folder, else None."""
        match = _VERSION.fullmatch(self.path.name)
        return int(match.group(1)) if match else None

    @property
    def name(self) -> str:
        """The experiment (config) the run belongs to."""
        return self.path.parent.name

    def config(self, stage: str = "fit") -> Path:
        """The full config of a stage (``config.yaml`` for the fit)."""
        return self.path / ("config.yaml" if stage == "fit" else f"config-{stage}.yaml")

    def environment(self, stage: str = "fit") -> Path:
        """Versions, commit and command of a stage."""
        return self.path / ("environment.json" if stage == "fit" else f"environment-{stage}.json")

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def checkpoint(self, which: str = BEST) -> Path:
        """``best.ckpt`` (the monitored metric's best) or ``last.ckpt``."""
        return self.checkpoints / f"{which}.ckpt"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def protocol(self) -> Path:
        return self.path / "protocol.json"

    @property
    def scores(self) -> Path:
        return self.path / "scores.csv"

    @property
    def asvspoof_scores(self) -> Path:
        return self.path / "scores.txt"

    @property
    def predictions(self) -> Path:
        return self.path / "predictions.csv"

    def prediction_shard(self, rank: int) -> Path:
        """Where one process of ``deepfake predict`` writes its windows' scores."""
        return self.path / f".predictions.rank{rank}.csv"

    @property
    def splits(self) -> Path:
        return self.path / "splits.csv"

    @property
    def data_report(self) -> Path:
        return self.path / "data_report.txt"

    @property
    def unreadable(self) -> Path:
        return self.path / "unreadable.csv"

    @property
    def genotype(self) -> Path:
        return self.path / "genotype.json"

    def read_metrics(self) -> dict[str, Any]:
        """The test report, ``metrics.json``."""
        return json.loads(self.metrics.read_text())

    def read_config(self, stage: str = "fit") -> dict[str, Any]:
        """The saved config of a stage (empty if there is none)."""
        import yaml

        path = self.config(stage)
        return yaml.safe_load(path.read_text()) if path.is_file() else {}


def main(args: list[str]) -> int:
    if len(args) != 2 or args[0] != "latest":
        print("usage: python -m deepfake_audio.runs latest EXPERIMENT_DIR", file=sys.stderr)
        return 2
    run = RunFolder.latest(Path(args[1]))
    if run is None:
        print(f"{args[1]}: no version_N run folder", file=sys.stderr)
        return 1
    print(run.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
