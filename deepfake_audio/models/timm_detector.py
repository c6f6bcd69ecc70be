"""CNN detectors on log-mel images from timm: ResNet-18, Res2Net-50, SENet-154, ..."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from deepfake_audio.models.base import Detector
from deepfake_audio.models.networks import TimmNetwork


class TimmDetector(Detector):
    """Any timm image model by name, with one output logit and ``in_chans`` from the data."""

    def __init__(
        self,
        input_shape: list[int],
        backbone: str = "resnet18",
        pretrained: bool = False,
        drop_rate: float = 0.0,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler, balanced_loss)
        if len(self.input_shape) != 3:
            raise ValueError(
                f"{backbone} needs image-like input [channels, n_mels, frames], got shape "
                f"{self.input_shape}: pair it with MelImageDataModule"
            )
        self.save_hyperparameters()
        self.network = TimmNetwork(backbone, self.input_shape[0], pretrained, drop_rate)
