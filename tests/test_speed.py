"""The opt-in speed switches train and leave checkpoints loadable as usual."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from conftest import CONFIG_DIR, run_cli, small_run_args
from lightning.pytorch import Trainer

from deepfake_audio.models import Detector
from deepfake_audio.models.networks.tdnn import TDNNNetwork
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.training.speed import CompileNetwork


@pytest.mark.parametrize(
    ("switch", "config"), [("ChannelsLast", "resnet18"), ("CompileNetwork", "lstm")]
)
@pytest.mark.slow
def test_speed_switch_trains_and_checkpoints_load(
    tiny_corpus: Path, tmp_path: Path, switch: str, config: str
):
    run_cli(
        [
            "fit",
            f"--config={CONFIG_DIR / f'{config}.yaml'}",
            *small_run_args(tiny_corpus, tmp_path, batch_size=4),
            "--trainer.max_epochs=1",
            "--trainer.limit_train_batches=2",
            f"--trainer.callbacks+=deepfake_audio.training.speed.{switch}",
        ]
    )
    checkpoint = tmp_path / config / "version_0" / "checkpoints" / "last.ckpt"
    weights = torch.load(checkpoint, weights_only=True)["state_dict"]
    assert not any("_orig_mod" in key for key in weights)  # compiled in place: same keys
    if switch == "ChannelsLast":
        assert weights["network.model.conv1.weight"].is_contiguous(
            memory_format=torch.channels_last
        )
    detector = AudioDetector.load(checkpoint)  # loads into a plain network
    assert detector.model.network["class_path"].endswith(("TimmNetwork", "RecurrentNetwork"))


@pytest.mark.slow
@pytest.mark.parametrize("members", [1, 2])
def test_compile_reaches_the_modules_that_training_calls(members: int):
    detector = Detector([32, 20], partial(TDNNNetwork, channels=8), members=members)
    CompileNetwork().setup(Trainer(logger=False), detector, "fit")
    called = detector.network.members if members > 1 else [detector.network]
    assert all(module._compiled_call_impl is not None for module in called)


@pytest.mark.slow
@pytest.mark.parametrize("config", ["gnn", "resnet18"])
def test_fit_with_log_mel_on_the_device(tiny_corpus: Path, tmp_path: Path, config: str):
    spec_augment = (
        '{"class_path": "deepfake_audio.data.augment.SpecAugment", "init_args": {"p": 1.0}}'
    )
    run_cli(
        [
            "fit",
            f"--config={CONFIG_DIR / f'{config}.yaml'}",
            *small_run_args(tiny_corpus, tmp_path, batch_size=4),
            "--data.features_on_device=true",
            f"--data.augmentations+={spec_augment}",
            "--trainer.fast_dev_run=2",
        ]
    )
