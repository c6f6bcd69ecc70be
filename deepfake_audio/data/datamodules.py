"""The DataModules of each input representation: feature images, frame sequences, frame graphs.

Each declares only its own arguments and its front end's defaults; the rest are
:class:`~.base.AudioDataModule`'s, which the CLI lists and checks for every subclass."""

from __future__ import annotations

from typing import Any

from deepfake_audio.data.base import AudioDataModule
from deepfake_audio.features import (
    FrameGraph,
    FrameSequence,
    Image,
    Representation,
    SpectralFeatures,
)


class MelImageDataModule(AudioDataModule):
    """Feature "images" ``[channels, rows, frames]`` for CNNs (the features repeated per
    channel)."""

    def __init__(
        self,
        channels: int = 3,
        features: SpectralFeatures = SpectralFeatures(n_mels=50, frames=250),
        **options: Any,
    ) -> None:
        super().__init__(features=features, **options)
        self.channels = channels

    @property
    def representation(self) -> Representation:
        return Image(self.channels)


class SequenceDataModule(AudioDataModule):
    """Frame sequences ``[frames, rows]`` for recurrent and time-delay models."""

    def __init__(
        self,
        features: SpectralFeatures = SpectralFeatures(n_mels=128, frames=200),
        **options: Any,
    ) -> None:
        super().__init__(features=features, **options)

    @property
    def representation(self) -> Representation:
        return FrameSequence()


class GraphDataModule(AudioDataModule):
    """Graphs whose nodes are feature frames, each linked to its ``k`` nearest frames."""

    def __init__(
        self,
        k: int = 8,
        features: SpectralFeatures = SpectralFeatures(n_mels=50, frames=250),
        **options: Any,
    ) -> None:
        super().__init__(features=features, **options)
        self.k = k

    @property
    def representation(self) -> Representation:
        return FrameGraph(self.k)
