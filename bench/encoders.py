"""Per-clip CPU cost of the detectors on Whisper's encoder beside the shipped recipe: one 10 s
clip on one thread, with both backends.

    python bench/encoders.py [--repeats 7] [--models best whisper_asp ...]

Each model is built as its config builds it (``deepfake fit --config ... --print_config``
would show the same), with random weights (the cost does not depend on them), exported like a
trained model (``deepfake export --onnx``) and scored with ``detect_wave`` as ``deepfake
detect`` scores a file: every window of the clip, then the mean. Per model: its own parameters
(what its package stores) and the encoder's (read from the pinned weight packages), the package
size, the median warm latency of one 10 s clip on one thread (torch and ONNX backends) and what
that makes in clips per second; AASIST-L's size is listed for scale. Run it on an otherwise idle
machine; the figures are medians of ``--repeats`` calls after two warm-up calls.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import latency
import numpy as np
import soundfile as sf
import torch

from deepfake_audio.features.whisper.weights import MODELS, encoder_weights
from deepfake_audio.models.format import model_entry
from deepfake_audio.serve.export import export
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector
from deepfake_audio.training.cli import DeepfakeCLI

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY = ["--data.features.model=tiny.en"]
MODELS_TO_TIME = {  # row -> (config, overrides)
    "best.yaml (4 TDNNs, LFCC + phase)": ("best.yaml", []),
    "whisper_linear.yaml, base": ("whisper_linear.yaml", []),
    "whisper_asp.yaml, tiny.en, frozen": ("whisper_asp.yaml", TINY),
    "whisper_asp.yaml, base, frozen": ("whisper_asp.yaml", []),
    "whisper_finetune.yaml, tiny.en, 2 blocks tuned": (
        "whisper_finetune.yaml",
        [*TINY, "--model.init_args.network.init_args.encoder=tiny.en"],
    ),
    "whisper_finetune.yaml, base, 2 blocks tuned": ("whisper_finetune.yaml", []),
    "aasist.yaml, AASIST-L size": (
        "aasist.yaml",
        ["--model.init_args.network.init_args.size=AASIST-L"],
    ),
}


def package_of(config: str, overrides: list[str], folder: Path) -> tuple[Path, int, int]:
    """The exported package of a config's model (random weights), its own parameters and its
    encoder's."""
    cli = DeepfakeCLI(args=[f"--config={CONFIGS / config}", *overrides], run=False)
    network, spec = cli.model.network, cli.datamodule.input_spec
    state = {f"network.{key}": value for key, value in network.state_dict().items()}
    checkpoint = folder / "model.ckpt"
    entry = model_entry(network.config, spec)
    torch.save({"state_dict": state, "deepfake_audio": entry}, checkpoint)
    package = folder / "package"
    export(checkpoint, package, onnx=True)
    model = getattr(spec.features, "model", None)
    encoder = sum(w.size for w in encoder_weights(model).values()) if model in MODELS else 0
    return package, sum(p.numel() for p in network.parameters()), encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=list(MODELS_TO_TIME))
    options = parser.parse_args()
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="bench-encoders-"))
    rng = np.random.default_rng(0)
    clip = root / "clip.wav"
    sf.write(clip, 0.1 * rng.standard_normal(10 * 16_000).astype(np.float32), 16_000)
    wave = sf.read(clip, dtype="float32")[0]
    header = ["model", "own params", "encoder params", "package MB", "torch ms", "onnx ms",
              "clips/s (onnx)"]  # fmt: skip
    rows = []
    for number, name in enumerate(options.models):
        config, overrides = MODELS_TO_TIME[name]
        folder = root / str(number)
        folder.mkdir()
        package, own, encoder = package_of(config, overrides, folder)
        size = sum(f.stat().st_size for f in package.rglob("*") if f.is_file()) / 2**20
        torch_detector = AudioDetector.load(package, device="cpu")
        with_torch = latency.warm_ms(torch_detector, torch.from_numpy(wave), options.repeats)
        with_onnx = latency.warm_ms(OnnxDetector.load(package, threads=1), wave, options.repeats)
        rows.append([name, f"{own / 1e6:.3g} M", f"{encoder / 1e6:.3g} M" if encoder else "-",
                     f"{size:.1f}", f"{with_torch:.0f}", f"{with_onnx:.0f}",
                     f"{1000 / with_onnx:.1f}"])  # fmt: skip
        print(f"# {name} done", flush=True)
    print(f"\none 10 s clip, 1 thread; warm median of {options.repeats} after 2 warm-up calls")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
