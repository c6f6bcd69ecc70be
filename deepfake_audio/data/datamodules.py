"""The DataModules of each input representation: feature images, frame sequences, frame graphs
and raw waveforms.

Each declares only its own arguments and its front end's defaults; the rest are
:class:`~.base.AudioDataModule`'s, which the CLI lists and checks for every subclass."""

from __future__ import annotations

from typing import Any

from deepfake_audio.data.base import AudioDataModule
from deepfake_audio.features import (
    SAMPLE_RATE,
    FrameGraph,
    FrameSequence,
    Image,
    InputSpec,
    Representation,
    SpectralFeatures,
    Waveform,
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


class WaveformDataModule(AudioDataModule):
    """Waveform windows ``[samples]`` for raw-waveform networks (RawNet2, AASIST): no front
    end, the window's samples are the input. ``window_samples`` is the window's length (64,600
    at 16 kHz, about 4 s, as in the RawNet2 and AASIST papers)."""

    def __init__(
        self, window_samples: int = 64_600, sample_rate: int = SAMPLE_RATE, **options: Any
    ) -> None:
        # The waveform is the input: no front-end features (and no such options to set).
        super().__init__(features=None, whisper=None, **options)  # type: ignore[arg-type]
        self.window_samples = window_samples
        self.sample_rate = sample_rate

    @property
    def representation(self) -> Representation:
        return Waveform()

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec(self.sample_rate, self.window_samples, self.representation)
