"""Map-style dataset: clip -> fixed-length waveform -> augmented -> log-mel -> model input."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from deepfake_audio.audio import fit_length, load_audio, random_start
from deepfake_audio.data.corpus import Clip
from deepfake_audio.features import LogMel


class ClipDataset(Dataset):
    """Yields ``(input, label)``; training crops at random, evaluation from the clip's start."""

    def __init__(
        self,
        clips: Sequence[Clip],
        front_end: LogMel,
        frames: int,
        sample_rate: int,
        to_input: Callable[[torch.Tensor], torch.Tensor],
        train: bool = False,
        augmentations: Sequence[Callable[[torch.Tensor], torch.Tensor]] = (),
    ) -> None:
        self.clips = list(clips)
        self.front_end = front_end
        self.num_samples = front_end.num_samples(frames)
        self.sample_rate = sample_rate
        self.to_input = to_input
        self.train = train
        self.augmentations = list(augmentations) if train else []

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        clip = self.clips[index]
        wave = load_audio(clip.path, self.sample_rate)
        start = random_start(wave.numel(), self.num_samples) if self.train else 0
        wave = fit_length(wave, self.num_samples, start)
        for augment in self.augmentations:
            wave = augment(wave)
        features = self.front_end(wave)
        return self.to_input(features), torch.tensor(float(clip.label))
