"""The DataModules of each input representation: feature images, frame sequences, frame graphs,
stacks of encoder layers, their pooled statistics and raw waveforms.

Each declares only its own arguments and its front end's defaults; the rest are
:class:`~.base.AudioDataModule`'s, which the CLI lists and checks for every subclass. Any
DataModule of framed features takes any framed front end (``features: {class_path: ...}``)."""

from __future__ import annotations

from typing import Any

from deepfake_audio.data.base import AudioDataModule
from deepfake_audio.features import (
    Features,
    FrameGraph,
    FrameSequence,
    Image,
    LayerStack,
    LayerStatistics,
    Representation,
    SpectralFeatures,
    Waveform,
    WaveformFeatures,
    WhisperFeatures,
)


class MelImageDataModule(AudioDataModule):
    """Feature "images" ``[channels, rows, frames]`` for CNNs (the features repeated per
    channel)."""

    def __init__(
        self,
        channels: int = 3,
        features: Features = SpectralFeatures(n_mels=50, frames=250),
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
        features: Features = SpectralFeatures(n_mels=128, frames=200),
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
        features: Features = SpectralFeatures(n_mels=50, frames=250),
        **options: Any,
    ) -> None:
        super().__init__(features=features, **options)
        self.k = k

    @property
    def representation(self) -> Representation:
        return FrameGraph(self.k)


class LayerDataModule(AudioDataModule):
    """Stacks of encoder layers ``[layers, frames, width]`` (one block of rows of the features
    per layer) for networks that weigh or pool an encoder's layers: every Whisper layer by
    default."""

    def __init__(
        self,
        features: Features = WhisperFeatures(frames=500, train_hop=500),
        **options: Any,
    ) -> None:
        super().__init__(features=features, **options)

    @property
    def representation(self) -> Representation:
        return LayerStack(len(self.features.blocks))


class LayerStatisticsDataModule(LayerDataModule):
    """Each encoder layer's mean and standard deviation over a window ``[2, layers, width]``:
    the input of :class:`LayerDataModule` pooled in the data, for heads that read nothing
    else. Each window's statistics are computed once per loader worker and kept, so that every
    later epoch reads kilobytes instead of the window's frames: 28 KB per window for Whisper
    base's 7 layers of 512 values, in each worker (about 1 GB for 40,000 training windows)."""

    @property
    def representation(self) -> Representation:
        return LayerStatistics(len(self.features.blocks))


class WaveformDataModule(AudioDataModule):
    """Waveform windows ``[samples]`` for raw-waveform networks (RawNet2, AASIST): the identity
    front end, whose ``window_samples`` is the window's length."""

    def __init__(self, features: WaveformFeatures = WaveformFeatures(), **options: Any) -> None:
        super().__init__(features=features, **options)

    @property
    def representation(self) -> Representation:
        return Waveform()
