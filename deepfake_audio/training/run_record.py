"""What a run folder records besides its config: package versions, the git commit, the command."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.cli import SaveConfigCallback

from deepfake_audio.files import atomic_write_text, portable_command
from deepfake_audio.runs import RunFolder

PACKAGES = (
    "deepfake-audio", "torch", "torchaudio", "lightning", "timm", "torch-geometric",
    "torchmetrics", "jsonargparse", "numpy", "soundfile",
)  # fmt: skip


def git(*args: str) -> str | None:
    """The output of a git command in this package's checkout; None where git is unavailable."""
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10,
            cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def environment() -> dict:
    """Versions, git commit (and whether the checkout had changes) and the command line."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    status = git("status", "--porcelain")
    return {
        "command": portable_command(sys.argv),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
    }


class RunRecord(SaveConfigCallback):
    """Saves the full config (as Lightning does) and ``environment.json`` into the run folder."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self.log_dir = trainer.log_dir  # a collective call under DDP: every rank asks, here
        super().setup(trainer, pl_module, stage)

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Runs on rank 0 only, so it must not make collective calls."""
        stage = getattr(stage, "value", stage)  # Lightning passes a TrainerFn
        path = RunFolder(Path(self.log_dir)).environment(stage)
        atomic_write_text(path, json.dumps(environment(), indent=2) + "\n")
