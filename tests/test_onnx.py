"""ONNX export and ``deepfake detect --backend onnx``: torch's scores without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import CONFIG_DIR, REPO, needs_whisper, run_cli, small_run_args
from scipy.signal import resample_poly

from deepfake_audio.features.whisper.weights import MODELS as WHISPER_MODELS
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector

# Image, LSTM, DARTS and TDNN sequences, a raw waveform, and Whisper frames as an image.
MODELS = ("resnet18", "lstm", "darts", "best", "rawnet2", "whisper_lcnn")
SPECTRAL = ("resnet18", "lstm", "darts", "best")
HEAVY = ("torch", "lightning", "timm", "torch_geometric")
CASES = [pytest.param(m, marks=[needs_whisper] if "whisper" in m else [], id=m) for m in MODELS]


pytestmark = pytest.mark.slow  # every test here fits models first


def exit_code(args: list[str]) -> int | str | None:
    """Run a plain ``deepfake`` subcommand in this process; its exit status."""
    with pytest.raises(SystemExit) as done:
        run_cli(args)
    return done.value.code


@pytest.fixture(scope="module")
def checkpoints(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> dict[str, Path]:
    """Runs of two training batches of each ONNX-exportable kind of model and of the GCN."""
    root = module_folder("onnx-runs")
    found = {}
    for name in (*MODELS, "gnn"):
        if "whisper" in name and not WHISPER_MODELS["tiny.en"].installed():
            continue
        config = CONFIG_DIR / f"{name}.yaml"
        run_args = small_run_args(tiny_corpus, root, batch_size=4, config=config)
        quick = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=2"]
        run_cli(["fit", f"--config={config}", *run_args, *quick])
        found[name] = root / name / "version_0" / "checkpoints" / "best.ckpt"
    return found


@pytest.fixture(scope="module")
def packages(checkpoints: dict[str, Path], module_folder: Callable[[str], Path]) -> dict:
    root = module_folder("onnx-packages")
    exported = [name for name in MODELS if name in checkpoints]
    for name in exported:
        args = ["export", "--ckpt", str(checkpoints[name]), "--out", str(root / name), "--onnx"]
        assert exit_code(args) == 0
    return {name: root / name for name in exported}


@pytest.fixture(scope="module")
def clips(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> list[Path]:
    """Two corpus clips (2 windows and 3), one shorter than a window, one of ~15 windows and
    a 44.1 kHz stereo one (downmix and resampling)."""
    folder = module_folder("onnx-clips")
    waves = [sf.read(tiny_corpus / f"{i}.flac", dtype="float32")[0] for i in range(6)]
    sf.write(folder / "short.wav", waves[0][:8000], 16_000)
    sf.write(folder / "long.wav", np.concatenate(waves), 16_000)
    resampled = resample_poly(waves[1], 441, 160)
    sf.write(folder / "stereo44k.wav", np.stack([resampled, 0.5 * resampled], axis=1), 44_100)
    return [tiny_corpus / "0.flac", tiny_corpus / "3.flac", *sorted(folder.iterdir())]


def detect(backend: str, package: Path, clips: list[Path], out: Path, *options: str) -> list:
    device = ["--device", "cpu"] if backend == "torch" else []  # no TF32 on a GPU
    args = ["detect", str(package), *map(str, clips), "--out", str(out), "--segments"]
    assert exit_code([*args, "--backend", backend, *device, *options]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(
    "options", [[], ["--window", "1.5", "--hop", "0.5", "--aggregate", "median"]]
)
def test_onnx_backend_scores_match_torch(
    packages: dict, clips: list[Path], tmp_path: Path, name: str, options: list[str]
):
    package = packages[name]
    files = {path.name for path in package.iterdir()}
    assert "model.onnx" in files and ("mel_filters.npy" in files) == (name in SPECTRAL)
    assert "--backend onnx" in (package / "README.md").read_text()
    expected = detect("torch", package, clips, tmp_path / "torch.json", *options)
    got = detect("onnx", package, clips, tmp_path / "onnx.json", *options)
    assert len(got) == len(clips) and any(row["windows"] > 10 for row in got)
    threshold = json.loads((package / "config.json").read_text())["threshold"]
    for want, have in zip(expected, got, strict=True):
        same = ("file", "duration", "windows", "error")
        assert {k: have[k] for k in same} == {k: want[k] for k in same}
        assert [s["start"] for s in have["segments"]] == [s["start"] for s in want["segments"]]
        scores = [want["score"], *(s["score"] for s in want["segments"])]
        onnx_scores = [have["score"], *(s["score"] for s in have["segments"])]
        assert np.abs(np.subtract(onnx_scores, scores)).max() < 1e-4
        if abs(want["score"] - threshold) > 1e-4:
            assert have["prediction"] == want["prediction"]


def test_unreadable_files_give_the_same_errors(packages: dict, tmp_path: Path):
    (tmp_path / "notes.wav").write_text("not audio at all\n")
    (tmp_path / "empty.wav").write_bytes(b"")
    sf.write(tmp_path / "nan.wav", np.full(16_000, np.nan), 16_000, subtype="FLOAT")
    paths = sorted(tmp_path.iterdir())
    onnx = OnnxDetector.load(packages["lstm"])
    torch_detector = AudioDetector.load(packages["lstm"], device="cpu")
    errors = [onnx.detect_file(path).error for path in paths]
    assert all(errors)
    assert errors == [torch_detector.detect_file(path).error for path in paths]


def test_onnx_backend_imports_no_torch(packages: dict, clips: list[Path]):
    package, clip = str(packages["resnet18"]), str(clips[-1])
    script = f"""
import sys
from deepfake_audio.cli import main
from deepfake_audio.serve.onnx import OnnxDetector
assert OnnxDetector.load({package!r}).detect_file({clip!r}).windows
try:
    main(["detect", "--backend", "onnx", {package!r}, {clip!r}])
except SystemExit as done:
    assert done.code == 0, done.code
assert not [name for name in {HEAVY!r} if name in sys.modules], sys.modules.keys()
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_onnx_backend_needs_an_onnx_package(checkpoints: dict[str, Path], tmp_path: Path):
    plain = tmp_path / "plain"
    assert exit_code(["export", "--ckpt", str(checkpoints["lstm"]), "--out", str(plain)]) == 0
    with pytest.raises(FileNotFoundError, match="model.onnx, mel_filters.npy; export"):
        OnnxDetector.load(plain)


def test_gcn_onnx_export_fails_cleanly(checkpoints: dict[str, Path], tmp_path: Path):
    out = tmp_path / "gcn"
    with pytest.raises(ValueError, match="'graph' input: .*PyG"):
        run_cli(["export", "--ckpt", str(checkpoints["gnn"]), "--out", str(out), "--onnx"])
    assert list(tmp_path.iterdir()) == []  # no package, no staging folder left behind
