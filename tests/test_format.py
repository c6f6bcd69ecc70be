"""The model format: checkpoints and packages carry its version; format 1 (unversioned) models
are migrated, and models this version cannot read are refused with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import CONFIG_DIR, run_cli, small_run_args
from safetensors.torch import save_file

from deepfake_audio.features import (
    Image,
    InputSpec,
    SpectralFeatures,
    WaveformFeatures,
    WhisperFeatures,
)
from deepfake_audio.models.format import (
    FORMAT_VERSION,
    FormatError,
    migrate,
    migrate_hyperparameters,
)
from deepfake_audio.models.networks import build_network
from deepfake_audio.models.networks.cnn import TimmNetwork
from deepfake_audio.models.networks.ensemble import EnsembleNetwork
from deepfake_audio.models.networks.tdnn import TDNNNetwork
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.package import ModelSpec, load_package

OLD = "deepfake_audio.models.networks"  # where format 1 named every network
FEATURES = SpectralFeatures(n_mels=20, frames=32)


def format_1_lstm(entry: dict) -> dict:
    """The ``deepfake_audio`` entry of an LSTM checkpoint as format 1 wrote it."""
    return {
        "network": {
            "class_path": f"{OLD}.RecurrentNetwork",
            "init_args": {"input_size": 128, "hidden_size": 32, "cell": "lstm", "num_layers": 1},
        },
        "input": {"features": _unkinded(entry["input"]["features"]), "representation": "sequence"},
    }


def _unkinded(features: dict) -> dict:
    """Spectral settings as formats 1 and 2 stored them: without their kind."""
    return {key: value for key, value in features.items() if key != "kind"}


def test_new_checkpoints_carry_the_format_version(lstm_checkpoint: Path):
    entry = torch.load(lstm_checkpoint, weights_only=True)["deepfake_audio"]
    assert entry["format_version"] == FORMAT_VERSION
    assert InputSpec.from_dict(entry["input"]).input_shape == [64, 128]


@pytest.mark.slow
def test_a_format_1_checkpoint_is_migrated_and_scores_as_before(
    lstm_checkpoint: Path, tiny_corpus: Path, tmp_path: Path
):
    checkpoint = torch.load(lstm_checkpoint, weights_only=True)
    checkpoint["deepfake_audio"] = format_1_lstm(checkpoint["deepfake_audio"])
    hparams = checkpoint["hyper_parameters"]  # format 1 had one detector class per network
    network = hparams.pop("network")["init_args"]
    hparams.update(_class_path="deepfake_audio.models.LSTMDetector", **network)
    for key in ("members", "member_args", "balance_groups", "cell"):
        hparams.pop(key, None)
    old = tmp_path / "old.ckpt"
    torch.save(checkpoint, old)
    clip = tiny_corpus / "0.flac"
    assert AudioDetector.load(old).detect_file(clip) == AudioDetector.load(
        lstm_checkpoint
    ).detect_file(clip)
    # The Lightning subcommands read it too.
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    run_cli(["test", config, *small_run_args(tiny_corpus, tmp_path, 4), f"--ckpt_path={old}"])
    assert json.loads((tmp_path / "lstm" / "version_0" / "metrics.json").read_text())["clips"]


def test_format_1_detector_arguments_become_the_detector_and_its_network():
    old = {
        "_class_path": "deepfake_audio.models.TDNNDetector",
        "input_shape": [400, 248],
        "channels": 64,
        "dilations": [1, 2, 3, 4],
        "dropout": 0.0,
        "members": 4,
        "member_features": [None, None, 120, 120],
        "balanced_loss": False,
    }
    assert migrate_hyperparameters(old) == {
        "_class_path": "deepfake_audio.models.Detector",
        "input_shape": [400, 248],
        "members": 4,
        "member_args": [{}, {}, {"used_features": 120}, {"used_features": 120}],
        "balanced_loss": False,
        "network": {
            "class_path": "deepfake_audio.models.networks.tdnn.TDNNNetwork",
            "init_args": {"channels": 64, "dilations": [1, 2, 3, 4], "dropout": 0.0},
        },
    }
    current = migrate_hyperparameters(old)
    assert migrate_hyperparameters(current) == current  # already current: as it is


@pytest.mark.parametrize("form", ["one member config and a count", "one config per member"])
def test_a_format_1_ensemble_package_is_migrated(form: str, tmp_path: Path):
    torch.manual_seed(0)
    network = EnsembleNetwork([TDNNNetwork([32, 20], channels=8) for _ in range(2)]).eval()
    member = {"class_path": f"{OLD}.TDNNNetwork", "init_args": {"in_features": 20, "channels": 8}}
    init_args = {"member": member, "members": 2}
    if form == "one config per member":
        init_args = {"member": [member, member], "members": None}
    config = {
        "network": {"class_path": f"{OLD}.EnsembleNetwork", "init_args": init_args},
        "input": {"features": _unkinded(FEATURES.to_dict()), "representation": "sequence"},
        "threshold": 0.25,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_file(network.state_dict(), tmp_path / "model.safetensors")
    model, weights = load_package(tmp_path)
    assert model.threshold == 0.25 and model.input.input_shape == [32, 20]
    rebuilt = build_network(model.network).eval()
    rebuilt.load_state_dict(weights)
    frames = torch.randn(2, 32, 20)
    assert torch.equal(rebuilt(frames), network(frames))


def test_a_format_1_image_model_gets_its_input_shape_from_its_channels():
    stored = {
        "network": {
            "class_path": f"{OLD}.TimmNetwork",
            "init_args": {"backbone": "resnet18", "in_chans": 1, "pretrained": False},
        },
        "input": {
            "features": _unkinded(FEATURES.to_dict()),
            "representation": "image",
            "channels": 1,
        },
    }
    model = ModelSpec.from_entry(stored, "old package")
    assert model.input == InputSpec(FEATURES, Image(1))
    assert type(build_network(model.network)) is TimmNetwork
    assert model.network["init_args"]["input_shape"] == [1, 20, 32]


FORMAT_2_INPUTS = {  # a format 2 input, and the front end it reads today
    "waveform": (
        {"sample_rate": 16000, "window_samples": 16000, "features": None,
         "representation": {"name": "waveform"}},
        WaveformFeatures(window_samples=16000),
    ),
    "spectral": (
        {"sample_rate": 16000, "window_samples": 15872,
         "features": _unkinded(FEATURES.to_dict()), "representation": {"name": "sequence"}},
        FEATURES,
    ),
    "whisper": (
        {"sample_rate": 16000, "window_samples": 16000,
         "features": {"kind": "whisper", "frames": 50, "model": "tiny.en", "train_hop": 25,
                      "sample_rate": 16000},
         "representation": {"name": "image", "channels": 1}},
        WhisperFeatures(frames=50, train_hop=25, layers=(4,), standardised=True),
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(FORMAT_2_INPUTS))
def test_a_format_2_input_reads_the_front_end_it_was_trained_on(kind: str):
    stored, features = FORMAT_2_INPUTS[kind]
    network = {"class_path": "deepfake_audio.models.networks.gcn.GCNNetwork", "init_args": {}}
    entry = {"format_version": 2, "network": network, "input": stored}
    model = ModelSpec.from_entry(entry, "old package")
    assert model.input.features == features
    assert model.input.window_samples == stored["window_samples"]
    assert migrate(entry, "old package")["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"format_version": 99}, "model format 99 is newer than this deepfake-audio reads"),
        ({"format_version": "two"}, "unknown model format 'two'"),
        (
            {
                "network": {"class_path": f"{OLD}.Gone", "init_args": {}},
                "input": {"features": _unkinded(FEATURES.to_dict()), "representation": "sequence"},
            },
            "not a format 1 network",
        ),
    ],
)
def test_models_this_version_cannot_read_are_refused_with_a_reason(entry: dict, message: str):
    with pytest.raises(FormatError, match=message):
        migrate(entry, "model.ckpt")


@pytest.mark.slow
def test_a_checkpoint_without_a_model_entry_is_refused_before_its_weights_are_read(
    lstm_checkpoint: Path, tiny_corpus: Path, tmp_path: Path
):
    checkpoint = torch.load(lstm_checkpoint, weights_only=True)
    del checkpoint["deepfake_audio"]
    checkpoint["state_dict"] = {f"renamed.{k}": v for k, v in checkpoint["state_dict"].items()}
    foreign = tmp_path / "foreign.ckpt"
    torch.save(checkpoint, foreign)
    with pytest.raises(FormatError, match="not a deepfake-audio checkpoint"):
        AudioDetector.load(foreign)
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    with pytest.raises(FormatError, match="older than model format 1"):  # not a key error
        run_cli(["test", config, *small_run_args(tiny_corpus, tmp_path), f"--ckpt_path={foreign}"])
