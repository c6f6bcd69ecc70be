"""Inference latency per architecture and backend: warm single clip, and cold `deepfake detect`.

    python bench/latency.py [--archs resnet18 gnn lstm darts rawnet2 whisper] [--repeats 20]
        [--threads 2]

Models have random weights (latency does not depend on them), are exported like trained ones
(`deepfake export --onnx` where supported) and score one 5 s clip. Warm: the median of R calls
of `detect_wave` after two warm-up calls. Cold: the median wall time of 3 `deepfake detect`
processes on one file, imports included. Run it on an otherwise idle machine.

Architectures are named as their configs in configs/ and built as those configs build them
(AASIST at its shipped size, whisper as its two TDNNs). The default leaves out the ones that
are very slow on a CPU (SLOW_ON_CPU: senet, res2net50, aasist); name them to add them, e.g.
`--archs resnet18 senet aasist`. Where the Whisper weights are missing
(an install without dependencies), its row is a note.
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

from deepfake_audio.features import (
    FrameGraph,
    FrameSequence,
    Image,
    InputSpec,
    SpectralFeatures,
    Waveform,
    WaveformFeatures,
    WhisperFeatures,
)
from deepfake_audio.models.format import model_entry
from deepfake_audio.models.networks.aasist import AASISTNetwork
from deepfake_audio.models.networks.cnn import TimmNetwork
from deepfake_audio.models.networks.darts import DartsNetwork
from deepfake_audio.models.networks.ensemble import EnsembleNetwork
from deepfake_audio.models.networks.gcn import GCNNetwork
from deepfake_audio.models.networks.rawnet2 import RawNet2Network
from deepfake_audio.models.networks.recurrent import RecurrentNetwork
from deepfake_audio.models.networks.tdnn import TDNNNetwork
from deepfake_audio.serve.export import export
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector

IMAGE = InputSpec(SpectralFeatures(), Image(3))
GRAPH = InputSpec(SpectralFeatures(), FrameGraph(8))
SEQUENCE = InputSpec(SpectralFeatures(n_mels=128, frames=200), FrameSequence())
# About 4 s, as rawnet2 and aasist.
WAVEFORM = InputSpec(WaveformFeatures(window_samples=64_600), Waveform())
WHISPER = InputSpec(WhisperFeatures(frames=200, layers=(4,), standardised=True), FrameSequence())
DARTS_GENOTYPE = Path(__file__).resolve().parents[1] / "configs" / "darts_genotype.json"


def whisper_heads(input_shape: list[int]) -> EnsembleNetwork:
    """configs/whisper.yaml's network: two TDNNs side by side."""
    return EnsembleNetwork([TDNNNetwork(input_shape, dropout=0.2) for _ in range(2)])


ARCHITECTURES = {  # config name -> (network of an input shape, input)
    "resnet18": (partial(TimmNetwork, backbone="resnet18"), IMAGE),
    "res2net50": (partial(TimmNetwork, backbone="res2net50_26w_4s"), IMAGE),
    "senet": (partial(TimmNetwork, backbone="senet154"), IMAGE),
    "gnn": (GCNNetwork, GRAPH),
    "lstm": (RecurrentNetwork, SEQUENCE),
    "darts": (partial(DartsNetwork, genotype=DARTS_GENOTYPE), SEQUENCE),
    "rawnet2": (RawNet2Network, WAVEFORM),
    "aasist": (partial(AASISTNetwork, size="AASIST"), WAVEFORM),
    "whisper": (whisper_heads, WHISPER),
}
SLOW_ON_CPU = ("senet", "res2net50", "aasist")  # minutes per architecture on a CPU
DEFAULT_ARCHS = [name for name in ARCHITECTURES if name not in SLOW_ON_CPU]


def missing(name: str) -> str | None:
    """Why an architecture cannot run here (weights that are not installed), or None."""
    return ARCHITECTURES[name][1].features.available


def exports_onnx(name: str) -> bool:
    """Whether the architecture's input has an ONNX export (a graph input has none)."""
    return ARCHITECTURES[name][1].representation.onnx_frames_axis is not None


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
    parser.add_argument("--archs", nargs="+", default=DEFAULT_ARCHS, choices=ARCHITECTURES)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    folder = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    rng = np.random.default_rng(0)
    clip = folder / "clip.wav"
    sf.write(clip, 0.1 * rng.standard_normal(5 * 16_000).astype(np.float32), 16_000)
    wave = torch.from_numpy(sf.read(clip, dtype="float32")[0])

    rows, notes = [], []
    for name in options.archs:
        if reason := missing(name):
            notes.append(f"{name}: skipped, {reason}")
            continue
        package = folder / name
        onnx = exports_onnx(name)
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
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
