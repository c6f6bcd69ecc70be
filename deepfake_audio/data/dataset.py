"""Map-style dataset: whole utterance -> fixed-length crop -> augmented -> normalised input."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from deepfake_audio.audio import fit_length, random_start
from deepfake_audio.data.augment import Augmentation, FeatureAugmentation, WaveAugmentation
from deepfake_audio.data.corpus import Clip
from deepfake_audio.features import LogMel, normalise_utterance


class ClipDataset(Dataset):
    """Yields ``(input, label, index)``.

    ``read`` returns a clip's whole utterance: a waveform when ``front_end`` is given (the
    log-mel is then computed per crop, after waveform augmentation), else a log-mel
    ``[n_mels, frames]``. ``length`` is in samples or frames accordingly. Training crops at
    random; evaluation takes the start of the clip. Short clips are repeated to the length.
    """

    def __init__(
        self,
        clips: Sequence[Clip],
        read: Callable[[Clip], torch.Tensor],
        length: int,
        to_input: Callable[[torch.Tensor], torch.Tensor],
        front_end: LogMel | None = None,
        train: bool = False,
        augmentations: Sequence[Augmentation] = (),
    ) -> None:
        self.clips = list(clips)
        self.read = read
        self.length = length
        self.to_input = to_input
        self.front_end = front_end
        self.train = train
        chosen = list(augmentations) if train else []
        self.wave_augmentations = [a for a in chosen if isinstance(a, WaveAugmentation)]
        self.feature_augmentations = [a for a in chosen if isinstance(a, FeatureAugmentation)]
        if self.wave_augmentations and front_end is None:
            raise ValueError("waveform augmentations need waveforms: pass a front_end")

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        clip = self.clips[index]
        utterance = self.read(clip)
        start = random_start(utterance.shape[-1], self.length) if self.train else 0
        crop = fit_length(utterance, self.length, start)
        if self.front_end is not None:
            for augment in self.wave_augmentations:
                crop = augment(crop)
            crop = self.front_end(crop)
        for augment in self.feature_augmentations:
            crop = augment(crop)
        features = normalise_utterance(crop)
        return self.to_input(features), torch.tensor(float(clip.label)), index
