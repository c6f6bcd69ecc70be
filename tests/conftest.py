"""Shared fixtures: one thread per process, a tiny generated corpus, and a CLI runner."""

from __future__ import annotations

import atexit
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch
import yaml

from deepfake_audio.cli import main
from deepfake_audio.data.demo import make_demo_corpus
from deepfake_audio.features.whisper.weights import MODELS as WHISPER_MODELS

needs_whisper = pytest.mark.skipif(
    not WHISPER_MODELS["tiny.en"].installed(), reason=WHISPER_MODELS["tiny.en"].missing
)

torch.set_num_threads(1)
# Caches go to a fresh folder per test session, never to the user's, removed at exit.
os.environ["DEEPFAKE_AUDIO_CACHE"] = tempfile.mkdtemp(prefix="deepfake-audio-cache-")
atexit.register(shutil.rmtree, os.environ["DEEPFAKE_AUDIO_CACHE"], ignore_errors=True)
REPO = Path(__file__).resolve().parents[1]
DEBUG = {"DEEPFAKE_DEBUG": "1"}
CONFIG_DIR = REPO / "configs"
RECIPES = sorted(CONFIG_DIR.rglob("*.yaml"))  # ablations included
FUSIONS = [path for path in RECIPES if "fusion" in (yaml.safe_load(path.read_text()) or {})]
CONFIGS = [path for path in RECIPES if path not in FUSIONS]  # LightningCLI configs


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four speakers, three bona fide clips and their spoof twins each, In-the-Wild layout."""
    return make_demo_corpus(tmp_path_factory.mktemp("tiny"), n_speakers=4, clips_per_speaker=3)


@pytest.fixture(scope="module")
def module_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """Make named folders shared by one test module's tests, removed when the module ends, so
    that the runs and packages of one module never hold disk space through the next."""
    made: list[Path] = []

    def make(name: str) -> Path:
        made.append(tmp_path_factory.mktemp(name))
        return made[-1]

    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def lstm_checkpoint(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """best.ckpt of a one-epoch LSTM fit on the tiny corpus, shared by the inference tests."""
    root = tmp_path_factory.mktemp("lstm-model")
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    run_cli(["fit", config, *small_run_args(tiny_corpus, root, 4), "--trainer.max_epochs=1"])
    return root / "lstm" / "version_0" / "checkpoints" / "best.ckpt"


def small_run_args(
    corpus: Path, root_dir: Path, batch_size: int = 2, config: Path | None = None
) -> list[str]:
    """Shrink any config to a quick CPU run on the tiny corpus (short windows: 64 frames of
    spectral features, 50 encoder frames or 1 s of waveform, after ``config``'s front end)."""
    kind = front_end_kind(config) if config is not None else "spectral"
    window = {
        "waveform": ["--data.features.window_samples=16000"],
        "whisper": ["--data.features.frames=50", "--data.features.train_hop=25"],
    }.get(kind, ["--data.features.frames=64"])
    return [
        f"--data.root={corpus}",
        f"--data.batch_size={batch_size}",
        "--data.num_workers=0",
        *window,
        f"--trainer.default_root_dir={root_dir}",
        "--trainer.accelerator=cpu",
        "--trainer.devices=1",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]


def front_end_kind(config: Path) -> str:
    """The kind of front end a config's DataModule reads, from the parsed config (the
    DataModule's default where the config names none)."""
    from deepfake_audio.features import registered_front_ends

    data = yaml.safe_load(config.read_text())["data"]
    features = (data.get("init_args") or {}).get("features") or {}
    if "class_path" in features:
        name = features["class_path"].rpartition(".")[2]
        return next(k for k, cls in registered_front_ends().items() if cls.__name__ == name)
    module, _, name = data["class_path"].rpartition(".")
    datamodule = getattr(import_module(module), name)
    return inspect.signature(datamodule).parameters["features"].default.kind


ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.-]+/)+[\w.-]+")


def machine_paths(folder: Path) -> list[str]:
    """Absolute paths named in the text files of a folder (cards, configs, release notes)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".md", ".json", ".yaml", ".txt", ".csv"):
            found += [f"{path.name}: {hit}" for hit in ABSOLUTE_PATH.findall(path.read_text())]
    return found


def exported_package(network: torch.nn.Module, spec: Any, folder: Path) -> Path:
    """``folder/package``: ``network`` (with its weights as they are) and ``spec`` exported as
    ``deepfake export --onnx`` exports a checkpoint."""
    from deepfake_audio.models.format import model_entry
    from deepfake_audio.serve.export import export

    checkpoint = folder / "model.ckpt"
    state = {f"network.{key}": value for key, value in network.state_dict().items()}
    entry = model_entry(network.config, spec)
    torch.save({"deepfake_audio": entry, "state_dict": state}, checkpoint)
    return export(checkpoint, folder / "package", onnx=True)


def run_cli(args: list[str]) -> None:
    """Run ``deepfake ARGS`` in this process, as if typed (pytest's own argv hidden), user
    errors raised as exceptions (``DEEPFAKE_DEBUG=1``) rather than reported in one line."""
    with mock.patch.object(sys, "argv", ["deepfake"]), mock.patch.dict(os.environ, DEBUG):
        main(args)


def run_cli_process(
    args: list[str], timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``deepfake ARGS`` in a fresh process with one thread, capturing its output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    command = [sys.executable, "-m", "deepfake_audio.cli", *args]
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
