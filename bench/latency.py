"""Inference latency per architecture and backend: warm single clip, and cold `deepfake detect`.

    python bench/latency.py [--archs resnet18 lstm darts gnn] [--repeats 20] [--threads 2]

Models have random weights (latency does not depend on them), are exported like trained ones
(`deepfake export --onnx` where supported) and score one 5 s clip. Warm: the median of R calls
of `detect_wave` after two warm-up calls. Cold: the median wall time of 3 `deepfake detect`
processes on one file, imports included. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from deepfake_audio.features import FrameGraph, FrameSequence, Image, InputSpec, SpectralFeatures
from deepfake_audio.models.format import model_entry
from deepfake_audio.models.networks.cnn import TimmNetwork
from deepfake_audio.models.networks.darts import DartsNetwork
from deepfake_audio.models.networks.gcn import GCNNetwork
from deepfake_audio.models.networks.recurrent import RecurrentNetwork
from deepfake_audio.serve.export import export
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector

IMAGE = InputSpec.of(SpectralFeatures(), Image(3))
GRAPH = InputSpec.of(SpectralFeatures(), FrameGraph(8))
SEQUENCE = InputSpec.of(SpectralFeatures(n_mels=128, frames=200), FrameSequence())
DARTS_GENOTYPE = Path(__file__).resolve().parents[1] / "configs" / "darts_genotype.json"
ARCHITECTURES = {  # name -> (network of an input shape, input)
    "resnet18": (partial(TimmNetwork, backbone="resnet18"), IMAGE),
    "res2net50": (partial(TimmNetwork, backbone="res2net50_26w_4s"), IMAGE),
    "senet154": (partial(TimmNetwork, backbone="senet154"), IMAGE),
    "gnn": (GCNNetwork, GRAPH),
    "lstm": (RecurrentNetwork, SEQUENCE),
    "darts": (partial(DartsNetwork, genotype=DARTS_GENOTYPE), SEQUENCE),
}


def checkpoint(name: str, folder: Path) -> Path:
    """A checkpoint with random weights, in the layout ``deepfake export`` reads."""
    build, spec = ARCHITECTURES[name]
    network = build(spec.input_shape)
    state = {f"network.{k}": v for k, v in network.state_dict().items()}
    path = folder / f"{name}.ckpt"
    torch.save(
        {
            "state_dict": {**state, "threshold": torch.tensor(0.5)},
            "deepfake_audio": model_entry(network.config, spec),
        },
        path,
    )
    return path


def warm_ms(detector, wave, repeats: int) -> float:
    for _ in range(2):
        detector.detect_wave(wave)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        detector.detect_wave(wave)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def cold_s(package: Path, clip: Path, backend: str) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "deepfake_audio.cli", "detect", str(package), str(clip),
             "--backend", backend],
            check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["resnet18", "lstm", "darts", "gnn"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    folder = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    rng = np.random.default_rng(0)
    clip = folder / "clip.wav"
    sf.write(clip, 0.1 * rng.standard_normal(5 * 16_000).astype(np.float32), 16_000)
    wave = torch.from_numpy(sf.read(clip, dtype="float32")[0])

    rows = []
    for name in options.archs:
        package = folder / name
        onnx = ARCHITECTURES[name][1].representation.onnx_frames_axis is not None
        export(checkpoint(name, folder), package, onnx=onnx)
        torch_ms = warm_ms(AudioDetector.load(package, device="cpu"), wave, options.repeats)
        row = {
            "model": name,
            "torch warm ms": torch_ms,
            "torch cold s": cold_s(package, clip, "torch"),
        }
        if onnx:
            detector = OnnxDetector.load(package, threads=options.threads)
            row["onnx warm ms"] = warm_ms(detector, wave.numpy(), options.repeats)
            row["onnx cold s"] = cold_s(package, clip, "onnx")
        rows.append(row)
        print(f"# {name} done", flush=True)

    columns = ["torch warm ms", "onnx warm ms", "torch cold s", "onnx cold s"]
    threads, repeats = options.threads, options.repeats
    print(f"\none 5 s clip, {threads} thread(s); warm: median of {repeats}; cold: median of 3")
    print(f"{'model':<10}" + "".join(f"{c:>15}" for c in columns))
    for row in rows:
        cells = "".join(f"{row[c]:>15.2f}" if c in row else f"{'n/a':>15}" for c in columns)
        print(f"{row['model']:<10}{cells}")


if __name__ == "__main__":
    main()
