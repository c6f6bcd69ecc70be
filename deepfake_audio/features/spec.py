"""The one input contract: what a DataModule produces, what a checkpoint and a package store,
and what every backend and figure reads.

An :class:`InputSpec` names the sample rate, the window length, the front end's settings and
the :class:`Representation`: the object that turns normalised features ``[rows, frames]`` into
a model input (an image, a frame sequence, a graph of frames), in torch for training and the
torch backend and in numpy for the ONNX backend. A :class:`Waveform` input has no front end:
the window's samples are the input. Nothing here imports torch at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from deepfake_audio.features.settings import SpectralFeatures
from deepfake_audio.features.whisper import WhisperFeatures

Features = SpectralFeatures | WhisperFeatures  # what a front end computes
FEATURE_KINDS: dict[str, type[Features]] = {
    kind.kind: kind for kind in (SpectralFeatures, WhisperFeatures)
}

if TYPE_CHECKING:
    import torch

REPRESENTATIONS: dict[str, type[Representation]] = {}


class Representation:
    """How normalised features become one model input. Subclasses are frozen dataclasses
    (picklable, so DataLoader workers can use their methods) registered by :attr:`name`."""

    name: ClassVar[str]
    needs_features: ClassVar[bool] = True  # False: the waveform itself is the input
    onnx_frames_axis: ClassVar[int | None] = None  # the input's time axis, None: no export
    onnx_refusal: ClassVar[str] = ""  # why there is no ONNX export

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REPRESENTATIONS[cls.name] = cls

    def shape(self, spec: InputSpec) -> list[int]:
        """The shape of one model input."""
        raise NotImplementedError

    def item(self, features: torch.Tensor) -> Any:
        """One item's input from its features ``[rows, frames]`` (its waveform ``[samples]``
        for :class:`Waveform`), before :meth:`collate`."""
        return self.batch(features)

    def batch(self, features: torch.Tensor) -> Any:
        """A batch of model inputs from features ``[batch, rows, frames]``."""
        raise NotImplementedError

    def collate(self) -> Callable | None:
        """A picklable collate function for items of :meth:`item`; None stacks tensors."""
        return None

    def numpy_batch(self, features: np.ndarray) -> np.ndarray:
        """:meth:`batch` in numpy, for the ONNX backend."""
        raise NotImplementedError(f"{self.name} input has no numpy form: {self.onnx_refusal}")

    def rows(self, inputs: Any, item: int) -> torch.Tensor:
        """The features ``[rows, frames]`` of one item of a batch of inputs (for figures)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Representation:
        options = dict(data)
        name = options.pop("name")
        if name not in REPRESENTATIONS:
            raise ValueError(
                f"unknown input representation {name!r}; known: {list(REPRESENTATIONS)}"
            )
        return REPRESENTATIONS[name](**options)


@dataclass(frozen=True)
class Image(Representation):
    """``[channels, rows, frames]``: the features repeated per channel, for CNNs."""

    name: ClassVar[str] = "image"
    onnx_frames_axis: ClassVar[int | None] = 3
    channels: int = 3

    def shape(self, spec: InputSpec) -> list[int]:
        return [self.channels, spec.features.frame_size, spec.features.frames]

    def batch(self, features: torch.Tensor) -> torch.Tensor:
        return features.unsqueeze(-3).expand(
            *features.shape[:-2], self.channels, *features.shape[-2:]
        )

    def numpy_batch(self, features: np.ndarray) -> np.ndarray:
        return np.repeat(features[:, None], self.channels, axis=1)

    def rows(self, inputs: torch.Tensor, item: int) -> torch.Tensor:
        return inputs[item, 0]


@dataclass(frozen=True)
class FrameSequence(Representation):
    """``[frames, rows]``: one feature vector per frame, for recurrent and 1-D conv models."""

    name: ClassVar[str] = "sequence"
    onnx_frames_axis: ClassVar[int | None] = 1

    def shape(self, spec: InputSpec) -> list[int]:
        return [spec.features.frames, spec.features.frame_size]

    def batch(self, features: torch.Tensor) -> torch.Tensor:
        return features.transpose(-2, -1).contiguous()

    def numpy_batch(self, features: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(features.transpose(0, 2, 1))

    def rows(self, inputs: torch.Tensor, item: int) -> torch.Tensor:
        return inputs[item].T


@dataclass(frozen=True)
class FrameGraph(Representation):
    """Frames as graph nodes (their features as node features), each linked to its ``k``
    nearest frames, batched for PyG."""

    name: ClassVar[str] = "graph"
    onnx_refusal: ClassVar[str] = (
        "GCN models score kNN graphs built per window with PyG, which has no ONNX export"
    )
    k: int = 8

    def shape(self, spec: InputSpec) -> list[int]:
        return [spec.features.frames, spec.features.frame_size]

    def item(self, features: torch.Tensor) -> torch.Tensor:
        return features.transpose(-2, -1).contiguous()

    def batch(self, features: torch.Tensor) -> Any:
        from deepfake_audio.features.graph import graph_batch

        return graph_batch(self.item(features), self.k)

    def collate(self) -> Callable:
        from functools import partial

        from deepfake_audio.features.graph import collate_graphs

        return partial(collate_graphs, k=self.k)

    def rows(self, inputs: Any, item: int) -> torch.Tensor:
        return inputs.x[inputs.ptr[item] : inputs.ptr[item + 1]].T


@dataclass(frozen=True)
class Waveform(Representation):
    """``[samples]``: the window's waveform itself, for raw-waveform networks (no front end)."""

    name: ClassVar[str] = "waveform"
    needs_features: ClassVar[bool] = False
    onnx_frames_axis: ClassVar[int | None] = 1

    def shape(self, spec: InputSpec) -> list[int]:
        return [spec.window_samples]

    def batch(self, features: torch.Tensor) -> torch.Tensor:
        return features

    def numpy_batch(self, features: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(features, dtype=np.float32)

    def rows(self, inputs: torch.Tensor, item: int) -> torch.Tensor:
        """A log power spectrogram of the item (512-point frames every 10 ms), to look at."""
        import torch

        wave = inputs[item].float()
        frames = torch.stft(wave, 512, 160, window=torch.hann_window(512, device=wave.device),
                            return_complex=True)  # fmt: skip
        return torch.log(frames.abs().pow(2) + 1e-6)


@dataclass(frozen=True)
class InputSpec:
    """Sample rate, window length, front-end settings and representation of a model's input.
    ``features`` is None for a :class:`Waveform` input."""

    sample_rate: int
    window_samples: int
    representation: Representation
    features: Features | None = None

    def __post_init__(self) -> None:
        if (self.features is None) == self.representation.needs_features:
            raise ValueError(
                f"{self.representation.name} input needs "
                f"{'front-end features' if self.representation.needs_features else 'no features'}"
            )
        if self.features is None:
            return
        expected = (self.features.sample_rate, self.features.window_samples)
        if (self.sample_rate, self.window_samples) != expected:
            raise ValueError(
                f"an input of {self.window_samples} samples at {self.sample_rate} Hz does not "
                f"match its features' {expected[1]} samples at {expected[0]} Hz"
            )

    @classmethod
    def of(cls, features: Features, representation: Representation) -> InputSpec:
        """The spec of a front end and a representation."""
        return cls(features.sample_rate, features.window_samples, representation, features)

    @property
    def input_shape(self) -> list[int]:
        return self.representation.shape(self)

    @property
    def blocks(self) -> tuple[int, ...]:
        """Row counts of the features' blocks, each normalised on its own (none for a
        waveform)."""
        return self.features.blocks if self.features is not None else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "window_samples": self.window_samples,
            "representation": self.representation.to_dict(),
            "features": None if self.features is None else self.features.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        return cls(
            data["sample_rate"],
            data["window_samples"],
            Representation.from_dict(data["representation"]),
            features_from_dict(data.get("features")),
        )


def features_from_dict(data: dict[str, Any] | None) -> Features | None:
    """Front-end settings from their ``to_dict`` (a missing ``kind`` is spectral)."""
    if data is None:
        return None
    options = dict(data)
    kind = options.pop("kind", SpectralFeatures.kind)
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown kind of features {kind!r}; known: {list(FEATURE_KINDS)}")
    settings = FEATURE_KINDS[kind]
    unknown = sorted(set(options) - {field.name for field in fields(settings)})
    if unknown:
        raise ValueError(f"unknown {kind} feature settings {unknown}")
    return settings(**options)
