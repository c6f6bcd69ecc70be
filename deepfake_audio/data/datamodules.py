"""The three input representations: log-mel image, kNN graph of frames, frame sequence."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Literal

import torch
from torch_geometric.data import Batch

from deepfake_audio.data.augment import Augmentation
from deepfake_audio.data.base import AudioDataModule
from deepfake_audio.data.graph import collate_graphs, graph_batch
from deepfake_audio.data.split import SplitSpec
from deepfake_audio.features import as_frames, as_image
from deepfake_audio.settings import MelFeatures


class MelImageDataModule(AudioDataModule):
    """Log-mel "images" ``[channels, n_mels, frames]`` for CNNs (the mel repeated per channel)."""

    def __init__(
        self,
        root: Path | None = None,
        channels: int = 3,
        features: MelFeatures = MelFeatures(n_mels=50, frames=250),
        split: SplitSpec = SplitSpec(),
        augmentations: list[Augmentation] | None = None,
        format: str = "auto",
        cache: bool = True,
        cache_dir: Path | None = None,
        features_on_device: bool = False,
        batch_size: int = 32,
        num_workers: int = 2,
        seed: int = 42,
        test_windows: Literal["all", "first"] = "all",
    ) -> None:
        super().__init__(
            root=root,
            format=format,
            features=features,
            split=split,
            augmentations=augmentations,
            cache=cache,
            cache_dir=cache_dir,
            features_on_device=features_on_device,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
            test_windows=test_windows,
        )
        self.channels = channels

    @property
    def input_shape(self) -> list[int]:
        return [self.channels, self.features.frame_size, self.features.frames]

    def input_transform(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return partial(as_image, channels=self.channels)

    def inference_spec(self) -> dict:
        return {**super().inference_spec(), "representation": "image", "channels": self.channels}


class SequenceDataModule(AudioDataModule):
    """Log-mel frame sequences ``[frames, n_mels]`` for recurrent models."""

    def __init__(
        self,
        root: Path | None = None,
        features: MelFeatures = MelFeatures(n_mels=128, frames=200),
        split: SplitSpec = SplitSpec(),
        augmentations: list[Augmentation] | None = None,
        format: str = "auto",
        cache: bool = True,
        cache_dir: Path | None = None,
        features_on_device: bool = False,
        batch_size: int = 32,
        num_workers: int = 2,
        seed: int = 42,
        test_windows: Literal["all", "first"] = "all",
    ) -> None:
        super().__init__(
            root=root,
            format=format,
            features=features,
            split=split,
            augmentations=augmentations,
            cache=cache,
            cache_dir=cache_dir,
            features_on_device=features_on_device,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
            test_windows=test_windows,
        )

    @property
    def input_shape(self) -> list[int]:
        return [self.features.frames, self.features.frame_size]

    def input_transform(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return as_frames

    def inference_spec(self) -> dict:
        return {**super().inference_spec(), "representation": "sequence"}


class GraphDataModule(SequenceDataModule):
    """Graphs whose nodes are mel frames (n_mels features each), linked to their k nearest."""

    def __init__(
        self,
        root: Path | None = None,
        k: int = 8,
        features: MelFeatures = MelFeatures(n_mels=50, frames=250),
        split: SplitSpec = SplitSpec(),
        augmentations: list[Augmentation] | None = None,
        format: str = "auto",
        cache: bool = True,
        cache_dir: Path | None = None,
        features_on_device: bool = False,
        batch_size: int = 32,
        num_workers: int = 2,
        seed: int = 42,
        test_windows: Literal["all", "first"] = "all",
    ) -> None:
        super().__init__(
            root=root,
            format=format,
            features=features,
            split=split,
            augmentations=augmentations,
            cache=cache,
            cache_dir=cache_dir,
            features_on_device=features_on_device,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
            test_windows=test_windows,
        )
        self.k = k

    def collate(self) -> Callable:
        return partial(collate_graphs, k=self.k)

    def inference_spec(self) -> dict:
        return {**super().inference_spec(), "representation": "graph", "k": self.k}

    def batch_inputs(self, features: torch.Tensor) -> Batch:
        return graph_batch(as_frames(features), self.k)
