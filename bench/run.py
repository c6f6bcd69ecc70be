"""`make bench`: one table of the figures that matter, each a median, ratios from the same run.

    python bench/run.py [--root DIR] [--archs resnet18 gnn lstm darts rawnet2 whisper]
        [--batches 12] [--slow-batches 3] [--sections data train infer]
        [--precisions 32-true bf16-mixed]

Training figures come from a fresh process per architecture (bench/data_wait.py) on the corpus
(default: the built-in demo set): samples per second, and in the notes the median step, the
step per million parameters (ms per step per M parameters: what a step costs for the model's
size; the model's parameter count beside it), the share of the time spent waiting for data and
the peak memory. Inference figures use random weights on one 5 s clip (bench/latency.py).
Training runs in 32-bit, and also in bf16-mixed where a GPU is present (bf16 autocast is many
times slower on CPUs). Run it on an otherwise idle machine.

Architectures are named as their configs in configs/. The default is every one but the three
that are very slow on a CPU (latency.SLOW_ON_CPU: senet, res2net50, aasist, a minute or more a
training step); to add them, name them with the others, e.g.
    make bench ARGS="--archs resnet18 gnn lstm darts rawnet2 whisper senet res2net50 aasist"
Without a GPU, the heavy ones (HEAVY: those three and rawnet2, seconds a step) train for
--slow-batches batches instead of --batches (whichever is fewer) and score 32 windows instead of
64 in the inference rows; their notes say so. Whisper rows are a one-line note where its
weights are not installed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import data_pipeline
import latency
import numpy as np
import torch

from deepfake_audio.data import MelImageDataModule
from deepfake_audio.data.augment import WhiteNoise
from deepfake_audio.data.demo import ensure_demo_corpus
from deepfake_audio.serve.export import export
from deepfake_audio.serve.inference import AudioDetector

BENCH = Path(__file__).resolve().parent
CONFIGS = BENCH.parent / "configs"
SECTIONS = ["data", "train", "infer"]
HEAVY = (*latency.SLOW_ON_CPU, "rawnet2")  # seconds or more a training step on a CPU


def data_rows(root: Path, clips: int) -> list[tuple[str, str, str]]:
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    paths = {
        "seed-style: decode + log-mel per item": dict(cache=False, augmentations=[WhiteNoise()]),
        "cached log-mel (default)": dict(augmentations=[]),
        "cached waveform + log-mel per item": dict(augmentations=[WhiteNoise()]),
    }
    rates = {}
    for name, options in paths.items():
        dm = MelImageDataModule(root=root, num_workers=2, cache_dir=cache_dir, **options)
        dm.prepare_data()
        dm.setup("fit")
        dm.num_workers = 0
        rates[name] = data_pipeline.clips_per_second(dm.train_dataloader().dataset, clips, 3)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dm = MelImageDataModule(root=root, num_workers=0, cache_dir=cache_dir, features_on_device=True)
    dm.prepare_data()
    dm.setup("fit")
    rates[f"waveform crops + batched log-mel on {device}"] = device_clips_per_second(dm, device)
    seed = rates["seed-style: decode + log-mel per item"]
    return [(f"data: {n}", f"{r:,.0f} clips/s", f"{r / seed:.1f}x") for n, r in rates.items()]


def device_clips_per_second(dm: MelImageDataModule, device: str, batches: int = 4) -> float:
    """Clips per second through the loader and ``on_after_batch_transfer`` (median of 3)."""
    rates = []
    for _ in range(3):
        start, clips = time.perf_counter(), 0
        for number, (waves, labels, indices) in enumerate(dm.train_dataloader()):
            if number == batches:
                break
            batch = (waves.to(device), labels.to(device), indices)
            clips += len(dm.on_after_batch_transfer(batch, 0)[1])
        if device == "cuda":
            torch.cuda.synchronize()
        rates.append(clips / (time.perf_counter() - start))
    return statistics.median(rates)


def _figure(output: str, label: str) -> str:
    """The number after ``label:`` at the start of a line of ``output``."""
    return re.search(rf"^{re.escape(label)}: ([\d.]+)", output, re.MULTILINE).group(1)


def _heavy_here(arch: str) -> bool:
    """Whether ``arch`` gets the shorter runs: a heavy architecture on a machine without a GPU."""
    return arch in HEAVY and not torch.cuda.is_available()


def _rate(per_second: float) -> str:
    """A rate to three significant figures below 10 (0.21, not 0), whole numbers above."""
    return f"{per_second:.3g}" if per_second < 10 else f"{per_second:,.0f}"


def _last_line(run: subprocess.CompletedProcess) -> str:
    lines = (run.stderr or run.stdout).strip().splitlines()
    return lines[-1][:120] if lines else f"exit status {run.returncode}"


def training_rows(
    root: Path | None, archs: list[str], batches: int, slow_batches: int, precisions: list[str]
) -> list[tuple[str, str, str]]:
    rows = []
    for arch in archs:
        if reason := latency.missing(arch):
            rows.append((f"train {arch}", "skipped", reason))
            continue
        heavy = _heavy_here(arch)
        count = min(batches, slow_batches) if heavy else batches
        for precision in precisions:
            command = [sys.executable, str(BENCH / "data_wait.py")]
            command += ["--config", str(CONFIGS / f"{arch}.yaml"), "--batches", str(count)]
            command += ["--root", str(root)] if root else []
            command += [f"--trainer.precision={precision}"]
            run = subprocess.run(command, capture_output=True, text=True)
            name = f"train {arch} ({precision})"
            if run.returncode:
                rows.append((name, "failed", _last_line(run)))
                continue
            output = run.stdout
            rate = _figure(output, "training samples per second")
            step = _figure(output, "median step")
            per_million = _figure(output, "median step per million parameters")
            millions = int(_figure(output, "parameters")) / 1e6
            wait = _figure(output, "share of training time spent waiting for data")
            peak = _figure(output, "peak memory")
            notes = f"step {step} ms, {per_million} ms/M params ({millions:.3g} M)"
            notes += f", data wait {wait}%, peak {peak} MB"
            if "peak GPU memory" in output:
                notes += f", GPU {_figure(output, 'peak GPU memory')} MB"
            if count != batches:
                notes += f", {count} batches"
            rows.append((name, f"{rate} samples/s", notes))
    return rows


def inference_rows(archs: list[str], repeats: int) -> list[tuple[str, str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    clip = folder / "clip.wav"
    rng = np.random.default_rng(0)
    import soundfile as sf

    sf.write(clip, 0.1 * rng.standard_normal(5 * 16_000).astype(np.float32), 16_000)
    wave = torch.from_numpy(sf.read(clip, dtype="float32")[0])
    rows = []
    for arch in archs:
        if reason := latency.missing(arch):
            rows.append((f"infer {arch}", "skipped", reason))
            continue
        package = folder / arch
        onnx = latency.exports_onnx(arch)
        export(latency.checkpoint(arch, folder), package, onnx=onnx)
        detector = AudioDetector.load(package, device="cpu")
        heavy = _heavy_here(arch)
        windows = 32 if heavy else 64
        crops = detector.crops(wave, detector.window, [0] * windows)
        rates = {}
        for batch in (1, 32):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                detector.score_windows(crops, batch)
                times.append(time.perf_counter() - start)
            rates[batch] = len(crops) / statistics.median(times)
        notes = "batch 1 / 32, torch" + (f", {windows} windows" if heavy else "")
        figure = f"{_rate(rates[1])} / {_rate(rates[32])} clips/s"
        rows.append((f"infer {arch}", figure, notes))
        warm = latency.warm_ms(detector, wave, 10)
        cold = latency.cold_s(package, clip, "onnx" if onnx else "torch")
        rows.append(
            (
                f"latency {arch}",
                f"{warm:.1f} ms warm",
                f"cold detect {cold:.2f} s ({'onnx' if onnx else 'torch'})",
            )
        )
    return rows


def help_row() -> tuple[str, str, str]:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        command = [sys.executable, "-m", "deepfake_audio.cli", "--help"]
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return ("deepfake --help", f"{statistics.median(times):.2f} s", "cold start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument(
        "--archs", nargs="+", default=latency.DEFAULT_ARCHS, choices=latency.ARCHITECTURES
    )
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--slow-batches", type=int, default=3, help="for HEAVY archs on a CPU")
    parser.add_argument("--clips", type=int, default=150)
    parser.add_argument("--sections", nargs="+", default=SECTIONS, choices=SECTIONS)
    gpu_precisions = ["32-true", "bf16-mixed"] if torch.cuda.is_available() else ["32-true"]
    parser.add_argument("--precisions", nargs="+", default=gpu_precisions)
    options = parser.parse_args()
    if min(options.batches, options.slow_batches) < 2:
        parser.error("--batches and --slow-batches must be at least 2 (the first step is untimed)")
    root = options.root or ensure_demo_corpus()
    started = time.perf_counter()
    rows = []
    if "data" in options.sections:
        torch.set_num_threads(1)  # as in a DataLoader worker
        rows += data_rows(root, options.clips)
    torch.set_num_threads(2)
    if "train" in options.sections:
        rows += training_rows(
            options.root, options.archs, options.batches, options.slow_batches, options.precisions
        )
    if "infer" in options.sections:
        rows += inference_rows(options.archs, repeats=3)
        rows.append(help_row())

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    print(f"\nmachine: {os.cpu_count()} CPUs, {gpu}; corpus: {root}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'figure':<24}  notes")
    for name, figure, notes in rows:
        print(f"{name:<{width}}  {figure:<24}  {notes}")
    print(f"(took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
