"""Clips per second of the data pipeline: the seed's per-item path vs the cached paths.

    python bench/data_pipeline.py [--root DIR] [--clips N] [--repeats R]

Each path yields the same training items (a ResNet-18 log-mel image of 250 frames); all run in
this process on one thread, so the figures compare work per clip, not parallelism. The medians
of R passes and their ratio to the seed path, measured in the same run, are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from deepfake_audio.data import MelImageDataModule
from deepfake_audio.data.augment import SpecAugment, WhiteNoise
from deepfake_audio.data.demo import ensure_demo_corpus


def clips_per_second(dataset, clips: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for index in range(clips):
            dataset[index % len(dataset)]
        rates.append(clips / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="corpus (default: demo set)")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = args.root or ensure_demo_corpus()
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-cache-"))

    paths = {
        "seed: decode + mel per item": dict(cache=False, augmentations=[WhiteNoise()]),
        "cached waveform + mel per item": dict(augmentations=[WhiteNoise()]),
        "cached log-mel": dict(augmentations=[SpecAugment()]),
    }
    results = {}
    for name, options in paths.items():
        dm = MelImageDataModule(root=root, num_workers=2, cache_dir=cache_dir, **options)
        start = time.perf_counter()
        dm.prepare_data()
        dm.setup("fit")
        prepared = time.perf_counter() - start
        dm.num_workers = 0
        dataset = dm.train_dataloader().dataset
        results[name] = clips_per_second(dataset, args.clips, args.repeats)
        print(f"# {name}: setup (index, check, cache build) {prepared:.1f} s", flush=True)

    seed = results["seed: decode + mel per item"]
    print(f"\ncorpus: {root}  clips per pass: {args.clips}  passes: {args.repeats}  threads: 1")
    print(f"{'path':<34}{'clips/s':>10}{'x seed':>9}")
    for name, rate in results.items():
        print(f"{name:<34}{rate:>10.1f}{rate / seed:>9.1f}")


if __name__ == "__main__":
    main()
