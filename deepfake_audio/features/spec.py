"""The one input contract: what a DataModule produces, what a checkpoint and a package store,
and what every backend and figure reads.

An :class:`InputSpec` names the front end (:class:`~.base.Features`: its settings fix the
sample rate and the window length) and the :class:`Representation`: the object that turns
normalised features ``[rows, frames]`` into a model input (an image, a frame sequence, a graph
of frames, a stack of encoder layers), in torch for training and the torch backend and in
numpy for the ONNX backend. A :class:`Waveform` input reads the identity front end's window of
samples. Nothing here imports torch at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from deepfake_audio.features.base import Features, features_from_dict

if TYPE_CHECKING:
    import torch

REPRESENTATIONS: dict[str, type[Representation]] = {}


class Representation:
    """How normalised features become one model input. Subclasses are frozen dataclasses
    (picklable, so DataLoader workers can use their methods) registered by :attr:`name`."""

    name: ClassVar[str]
    reads_waveform: ClassVar[bool] = False  # True: the identity front end's samples
    onnx_frames_axis: ClassVar[int | None] = None  # the input's time axis, if it has one
    onnx_refusal: ClassVar[str] = ""  # why there is no ONNX export, if there is none
    summary: ClassVar[bool] = False  # True: an item is a few values per window, worth keeping

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
class LayerStack(Representation):
    """``[frames, layers, width]``: the features' blocks of rows (an encoder's layers) side by
    side in every frame, for networks that weigh or pool the layers. Frame-major, as caches
    store frames: an item is a view of its cached features."""

    name: ClassVar[str] = "layers"
    onnx_frames_axis: ClassVar[int | None] = 1
    layers: int = 1

    def shape(self, spec: InputSpec) -> list[int]:
        return [spec.features.frames, self.layers, spec.features.frame_size // self.layers]

    def batch(self, features: torch.Tensor) -> torch.Tensor:
        return features.transpose(-2, -1).unflatten(-1, (self.layers, -1))

    def numpy_batch(self, features: np.ndarray) -> np.ndarray:
        batch, rows, frames = features.shape
        stacked = features.transpose(0, 2, 1).reshape(batch, frames, self.layers, -1)
        return np.ascontiguousarray(stacked)

    def rows(self, inputs: torch.Tensor, item: int) -> torch.Tensor:
        return inputs[item].flatten(1).T


@dataclass(frozen=True)
class LayerStatistics(Representation):
    """``[2, layers, width]``: the mean (first) and the standard deviation over the window's
    frames of every value of each of the features' blocks of rows (an encoder's layers), for
    heads on pooled statistics. An item is 1/250 of its :class:`LayerStack` at 500 frames, and
    depends on its window alone: a dataset keeps each window's items after the first read
    (:attr:`summary`), so that an epoch costs a few kilobytes per item."""

    name: ClassVar[str] = "layer_statistics"
    summary: ClassVar[bool] = True
    layers: int = 1

    def shape(self, spec: InputSpec) -> list[int]:
        return [2, self.layers, spec.features.frame_size // self.layers]

    def batch(self, features: torch.Tensor) -> torch.Tensor:
        import torch

        std, mean = torch.std_mean(features, dim=-1)
        return torch.stack([mean, std], dim=-2).unflatten(-1, (self.layers, -1))

    def numpy_batch(self, features: np.ndarray) -> np.ndarray:
        pooled = np.stack([features.mean(axis=-1), features.std(axis=-1, ddof=1)], axis=1)
        return np.ascontiguousarray(pooled.reshape(len(features), 2, self.layers, -1), np.float32)

    def rows(self, inputs: torch.Tensor, item: int) -> torch.Tensor:
        return inputs[item].flatten(1).T


@dataclass(frozen=True)
class Waveform(Representation):
    """``[samples]``: the window's waveform itself, for raw-waveform networks (no front end)."""

    name: ClassVar[str] = "waveform"
    reads_waveform: ClassVar[bool] = True
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
    """A model's input: its front end's settings (which fix the sample rate and the window
    length) and its representation."""

    features: Features
    representation: Representation

    def __post_init__(self) -> None:
        if not isinstance(self.features, Features):
            raise TypeError(f"features must be front-end settings, got {self.features!r}")
        if self.representation.reads_waveform == self.features.framed:
            raise ValueError(
                f"{self.representation.name} input cannot be made of {self.features.kind} "
                f"features: {'a waveform' if self.representation.reads_waveform else 'frames'} "
                "expected"
            )

    @property
    def sample_rate(self) -> int:
        return self.features.sample_rate

    @property
    def window_samples(self) -> int:
        return self.features.window_samples

    @property
    def input_shape(self) -> list[int]:
        return self.representation.shape(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features.to_dict(),
            "representation": self.representation.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        return cls(
            features_from_dict(data["features"]), Representation.from_dict(data["representation"])
        )
