"""The opt-in speed switches train and leave checkpoints loadable as usual."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import pytest
import torch
from conftest import CONFIG_DIR, run_cli, small_run_args
from lightning.pytorch import Trainer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from deepfake_audio.data import MelImageDataModule
from deepfake_audio.data.augment import SpecAugment
from deepfake_audio.features import SpectralFeatures
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
            "--trainer.max_epochs=1",
            "--trainer.limit_train_batches=2",
            "--trainer.limit_val_batches=2",
            "--trainer.log_every_n_steps=1",
        ]
    )
    run = tmp_path / config / "version_0"
    assert (run / "checkpoints" / "last.ckpt").is_file()
    losses = EventAccumulator(str(run)).Reload().Scalars("train/loss")
    assert len(losses) == 2 and all(math.isfinite(event.value) for event in losses)
    # The loaders yield waveform crops; the batch's features are made on its device, masked
    # in training only, as the model's input shape says.
    dm = MelImageDataModule(
        root=tiny_corpus, features=SpectralFeatures(n_mels=20, frames=32), num_workers=0,
        features_on_device=True, augmentations=[SpecAugment(p=1.0)],
    )  # fmt: skip
    dm.setup("fit")
    waves, labels, indices = next(iter(dm.train_dataloader()))
    assert waves.shape == (len(labels), dm.features.window_samples)
    trained, evaluated = (
        dm.device_inputs((waves, labels, indices), True),
        dm.device_inputs((waves, labels, indices), False),
    )
    assert trained[0].shape == evaluated[0].shape == (len(labels), *dm.input_shape)
    assert not torch.equal(trained[0], evaluated[0])
