"""Opt-in speed switches, as trainer callbacks (they change no weights and no checkpoint keys):

    --trainer.callbacks+=deepfake_audio.training.speed.ChannelsLast     # CNNs on GPU
    --trainer.callbacks+=deepfake_audio.training.speed.CompileNetwork   # torch.compile it

Measured on 2 CPU cores, neither helps there (torch.compile gains nothing and channels_last
costs copies); they are for GPUs.
"""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from deepfake_audio.models.networks.ensemble import EnsembleNetwork


class ChannelsLast(Callback):
    """Keep the network's 4-D weights in channels-last memory format (faster convolutions on
    recent GPUs, especially with ``--trainer.precision bf16-mixed``)."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        pl_module.network.to(memory_format=torch.channels_last)


class CompileNetwork(Callback):
    """Compile the network in place with ``torch.compile`` (state-dict keys unchanged); an
    ensemble's members each, since training calls them one by one."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        network = pl_module.network
        for module in network.members if isinstance(network, EnsembleNetwork) else [network]:
            module.compile(mode=self.mode)
