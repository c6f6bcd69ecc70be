"""Share of a training epoch spent waiting for data, with a config's real DataModule.

    python bench/data_wait.py [--config configs/resnet18.yaml] [--root DIR] [--batches N] \
        [--trainer.precision bf16-mixed ...]

Trains for N batches (the data cache is built first and not timed) and prints the time between
the end of one training step and the start of the next (the loader's turn) as a share of
the whole, the median step (from one step's end to the next one's, the loader's turn
included: training samples per second are the batch size over it), the model's parameter
count and the median step per million parameters. Other options go to the training CLI as they
are. N must be at least 2 (the first step is not timed). Run it on an otherwise idle machine:
other load inflates both parts.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch
from lightning.pytorch import Callback

from deepfake_audio.training.cli import DeepfakeCLI


class StepTimer(Callback):
    """Records when each training batch starts and ends."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def on_train_batch_start(self, *args) -> None:
        self.starts.append(time.perf_counter())

    def on_train_batch_end(self, *args) -> None:
        self.ends.append(time.perf_counter())

    def wait_share(self) -> tuple[float, float]:
        """(seconds waiting for data, seconds in total), from the end of the first step."""
        waits = [start - end for start, end in zip(self.starts[1:], self.ends[:-1], strict=True)]
        return sum(waits), self.ends[-1] - self.ends[0]

    def median_step(self) -> float:
        """Median seconds from one step's end to the next one's (data wait included)."""
        return statistics.median(b - a for a, b in zip(self.ends[:-1], self.ends[1:], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/resnet18.yaml")
    parser.add_argument("--root", type=Path, default=None, help="corpus (default: demo set)")
    parser.add_argument("--batches", type=int, default=20)
    args, cli_options = parser.parse_known_args()
    if args.batches < 2:
        parser.error("--batches must be at least 2: the first step is not timed")
    root = [f"--data.root={args.root}"] if args.root else []
    cli = DeepfakeCLI(
        args=[
            f"--config={args.config}",
            *root,
            "--trainer.max_epochs=1",
            f"--trainer.limit_train_batches={args.batches}",
            "--trainer.limit_val_batches=0",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={tempfile.mkdtemp(prefix='bench-run-')}",  # its reports
            "--trainer.enable_checkpointing=false",
            "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false",
            *cli_options,
        ],
        run=False,
    )
    timer = StepTimer()
    cli.trainer.callbacks.append(timer)
    cli.datamodule.prepare_data()
    cli.trainer.fit(cli.model, cli.datamodule)
    waiting, total = timer.wait_share()
    steps = len(timer.ends) - 1
    print(f"\nconfig: {args.config}  corpus: {args.root or 'demo set'}  timed steps: {steps}")
    print(f"device: {cli.trainer.strategy.root_device}  precision: {cli.trainer.precision}")
    print(f"time per step: {total / steps:.3f} s   waiting for data: {waiting / steps:.3f} s")
    print(f"share of training time spent waiting for data: {100 * waiting / total:.1f}%")
    batch, step = cli.datamodule.batch_size, timer.median_step()
    rate = batch / step
    print(f"training samples per second: {rate:.{1 if rate >= 1 else 3}f} (median step)")
    parameters = sum(p.numel() for p in cli.model.parameters())
    trainable = sum(p.numel() for p in cli.model.parameters() if p.requires_grad)
    print(f"parameters: {parameters} ({trainable} trainable)")
    print(f"median step: {1000 * step:.1f} ms")
    if parameters:
        print(f"median step per million parameters: {1e9 * step / parameters:.2f} ms")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if torch.cuda.is_available():
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
