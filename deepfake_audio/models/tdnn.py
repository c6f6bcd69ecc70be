"""The TDNN detector: a small time-delay network with statistics pooling over frame sequences
(:class:`~.networks.TDNNNetwork`)."""

from __future__ import annotations

import itertools

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from deepfake_audio.models.base import Detector
from deepfake_audio.models.networks import TDNNNetwork, ensemble


class TDNNDetector(Detector):
    """Dilated 1-D convolutions over the frames of a filterbank sequence, mean and std pooling,
    one linear output (pair it with ``SequenceDataModule``); about 0.1 M parameters per member.
    ``members`` > 1 trains that many TDNNs side by side and averages their logits
    (:class:`~.networks.EnsembleNetwork`). ``member_features`` gives, per member, how many of
    each frame's leading values it reads (``null``: all): members that see different features
    err on different clips, so their mean errs less."""

    def __init__(
        self,
        input_shape: list[int],
        channels: int = 64,
        dilations: list[int] | None = None,
        dropout: float = 0.0,
        members: int = 1,
        member_features: list[int | None] | None = None,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler, balanced_loss)
        self.save_hyperparameters()
        if members < 1:
            raise ValueError(f"members must be at least 1, got {members}")
        used = [None] * members if member_features is None else list(member_features)
        if len(used) != members:
            raise ValueError(
                f"member_features has {len(used)} entries for {members} members: give one each"
            )
        self.member_features = used
        self.network = ensemble(
            [
                TDNNNetwork.describe(
                    in_features=self.input_shape[-1],
                    channels=channels,
                    dilations=dilations,
                    dropout=dropout,
                    used_features=features,
                )
                for features in used
            ]
        )

    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None)
        features = getattr(datamodule, "features", None)
        if features is None:
            return
        # A count that stops inside a block (e.g. after a change of cepstra) would feed a member
        # part of the phase rows: refuse it.
        ends = list(itertools.accumulate(features.blocks))
        for count in self.member_features:
            if count is not None and count not in ends:
                raise ValueError(
                    f"member_features entry {count} does not end a block of these features: "
                    f"a member can read the first {' or '.join(map(str, ends))} values "
                    "(the cepstral rows, then the phase rows)"
                )
