"""The DataModule every input representation shares: corpus, split, loaders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from deepfake_audio.data.augment import WaveAugmentation
from deepfake_audio.data.corpus import SPLITS, Clip, index_corpus
from deepfake_audio.data.dataset import ClipDataset
from deepfake_audio.data.demo import default_demo_root, ensure_demo_corpus
from deepfake_audio.data.split import SplitSpec, assign_splits
from deepfake_audio.features import MelFeatures


def _one_thread(_: int) -> None:
    """DataLoader workers share few cores: more torch threads than cores slows everything."""
    torch.set_num_threads(1)


class AudioDataModule(LightningDataModule):
    """Indexes a corpus (or the built-in demo set), splits it and serves log-mel batches.

    Subclasses decide how a ``[n_mels, frames]`` log-mel becomes a model input
    (:meth:`input_transform`), how items are collated and the resulting :attr:`input_shape`.
    """

    def __init__(
        self,
        root: Path | None,
        features: MelFeatures,
        split: SplitSpec,
        augmentations: list[WaveAugmentation] | None,
        batch_size: int,
        num_workers: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.root = Path(root) if root is not None else None
        self.features = features
        self.split = split
        self.augmentations = augmentations or []
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.clips: dict[str, list[Clip]] = {}

    @property
    def input_shape(self) -> list[int]:
        """Shape of one model input, linked to the detector by the CLI."""
        raise NotImplementedError

    def input_transform(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """A picklable function turning one ``[n_mels, frames]`` log-mel into one model input."""
        raise NotImplementedError

    def collate(self) -> Callable | None:
        """A picklable collate function for the loaders; ``None`` stacks tensors."""
        return None

    @property
    def corpus_root(self) -> Path:
        return self.root if self.root is not None else default_demo_root()

    def prepare_data(self) -> None:
        if self.root is None:
            ensure_demo_corpus()

    def setup(self, stage: str | None = None) -> None:
        if self.clips:
            return
        clips = assign_splits(index_corpus(self.corpus_root), self.split, self.seed)
        self.clips = {name: [clip for clip in clips if clip.split == name] for name in SPLITS}

    def _loader(self, split: str, train: bool = False) -> DataLoader:
        dataset = ClipDataset(
            self.clips[split],
            front_end=self.features.front_end(),
            frames=self.features.frames,
            sample_rate=self.features.sample_rate,
            to_input=self.input_transform(),
            train=train,
            augmentations=self.augmentations,
        )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train,
            num_workers=self.num_workers,
            collate_fn=self.collate(),
            worker_init_fn=_one_thread,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test")
