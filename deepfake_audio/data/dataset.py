"""Map-style dataset: whole utterance -> fixed-length crop -> augmented -> normalised input."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import Dataset, DistributedSampler

from deepfake_audio.audio import fit_length, random_start
from deepfake_audio.data.augment import (
    Augmentation,
    FeatureAugmentation,
    SpoofMaker,
    WaveAugmentation,
)
from deepfake_audio.data.corpus import Clip
from deepfake_audio.windows import window_starts


class EpochSampler(DistributedSampler):
    """Shuffles by ``seed + epoch`` and yields ``(index, epoch)``, so that each training item's
    crop and augmentations depend only on the seed, the epoch and the item: the same with any
    number of workers, on every rank layout, and after resuming from a checkpoint.

    Being a ``DistributedSampler``, Lightning shards it as it is and calls ``set_epoch``.
    """

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((index, self.epoch) for index in super().__iter__())


class ClipDataset(Dataset):
    """Yields ``(input, label, index)`` for an index, or for ``(index, epoch)`` (training);
    ``index`` is the item's, which is the clip's except for evaluation windows.

    ``read`` returns a clip's whole utterance: a waveform when ``waves`` (the features are then
    computed per crop by ``front_end``, after waveform augmentation; without a front end the
    augmented crop itself is the item, for features computed on the device), else the front
    end's output ``[rows, frames]`` (or the waveform, for the identity front end). Each crop's
    features are standardised by ``normalise`` (the front end's). ``length`` is in samples or
    frames accordingly. Training crops at random, one item per clip. Evaluation takes the start
    of each clip, or with ``window_hop`` every window of it, ``window_hop`` steps apart and the
    last one ending at the clip's end, as ``deepfake detect`` scores a file: one item per window,
    and
    :attr:`owners` gives each item's clip. Short clips are repeated to the length. Training
    crops start on multiples of ``crop_step`` (cached windows of a non-local front end).
    A training item of a bona fide clip that a :class:`SpoofMaker` makes into a spoof is
    labelled spoof; the other augmentations then apply to it as to any crop.

    ``copies`` read other versions of each clip (augmented copies, as ``read`` does): every
    training item draws one of the clip's versions, ``read``'s included, at random.

    With ``keep_items`` (small inputs, such as a window's pooled statistics) and no
    augmentation, each window's input is kept after it is first made, with its clip's length:
    an item whose window was made before is neither read nor made again.
    """

    def __init__(
        self,
        clips: Sequence[Clip],
        read: Callable[[Clip], torch.Tensor],
        length: int,
        to_input: Callable[[torch.Tensor], torch.Tensor],
        front_end: torch.nn.Module | None = None,
        normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
        waves: bool = False,
        train: bool = False,
        augmentations: Sequence[Augmentation] = (),
        seed: int = 0,
        window_hop: int | None = None,
        crop_step: int = 1,
        keep_items: bool = False,
        copies: Sequence[Callable[[Clip], torch.Tensor]] = (),
    ) -> None:
        if train and window_hop is not None:
            raise ValueError("training takes one random crop per clip: no window_hop")
        if copies and not train:
            raise ValueError("copies are versions of training clips: evaluation reads clips")
        self.clips = list(clips)
        self.seed = seed
        self.read = read
        self.versions = [read, *copies]
        self.length = length
        self.crop_step = crop_step
        self.to_input = to_input
        self.front_end = front_end
        self.normalise = normalise
        self.waves = waves
        self.train = train
        chosen = list(augmentations) if train else []
        self.spoof_makers = [a for a in chosen if isinstance(a, SpoofMaker)]
        self.wave_augmentations = [
            a for a in chosen if isinstance(a, WaveAugmentation) and not isinstance(a, SpoofMaker)
        ]
        self.feature_augmentations = [a for a in chosen if isinstance(a, FeatureAugmentation)]
        if (self.wave_augmentations or self.spoof_makers) and not waves:
            raise ValueError("waveform augmentations need waveforms: read waves")
        self.windows = [(index, 0) for index in range(len(self.clips))]
        if window_hop is not None:
            self.windows = [
                (index, start)
                for index, clip in enumerate(self.clips)
                for start in window_starts(read(clip).shape[-1], length, window_hop)
            ]
        self._kept: tuple[int, torch.Tensor] | None = None  # the last clip read for evaluation
        self.keep_items = keep_items and not chosen
        self._items: dict[tuple[int, int, int], torch.Tensor] = {}  # by clip, version, start
        self._lengths: dict[tuple[int, int], int] = {}  # each kept version's length

    @property
    def owners(self) -> list[int]:
        """The clip of each item."""
        return [index for index, _ in self.windows]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, int]:
        if not self.train:  # evaluation items draw nothing at random
            index, start = self.windows[key]
            inputs, label = self._window(index, start)
            return inputs, torch.tensor(float(label)), key
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        # The item's own generator state, whatever ran before in this process. The CPU generator
        # only: torch.manual_seed would also queue a lazy seeding call per item for every
        # accelerator backend not yet initialised (stack trace and all).
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed((self.seed * 1_000_003 + epoch) * 1_000_003 + index)
            inputs, label = self._window(index)
        return inputs, torch.tensor(float(label)), index

    def _window(self, index: int, start: int | None = None) -> tuple[torch.Tensor, int]:
        """Clip ``index``'s item starting at ``start``, or for training at a random start of
        a random version."""
        clip = self.clips[index]
        version = 0
        if len(self.versions) > 1:
            version = int(torch.randint(len(self.versions), ()))
        utterance = None
        if (index, version) not in self._lengths:
            utterance = self._read(index, version)
            if self.keep_items:
                self._lengths[index, version] = utterance.shape[-1]
        if start is None:
            frames = self._lengths[index, version] if utterance is None else utterance.shape[-1]
            step = self.crop_step
            start = step * random_start(frames // step, self.length // step)
        if (index, version, start) in self._items:
            return self._items[index, version, start], clip.label
        if utterance is None:
            utterance = self._read(index, version)
        inputs, label = self._item(clip, utterance, start)
        if self.keep_items:
            self._items[index, version, start] = inputs
        return inputs, label

    def _read(self, index: int, version: int = 0) -> torch.Tensor:
        """Clip ``index``'s utterance (its ``version``). A clip's evaluation windows are
        consecutive items, so the last clip read for evaluation is kept: a long clip is read
        once, not once per window."""
        if self.train:
            return self.versions[version](self.clips[index])
        if self._kept is None or self._kept[0] != index:
            self._kept = (index, self.read(self.clips[index]))
        return self._kept[1]

    def _item(self, clip: Clip, utterance: torch.Tensor, start: int) -> tuple[torch.Tensor, int]:
        crop = fit_length(utterance, self.length, start)
        label = clip.label
        if self.waves:
            for maker in self.spoof_makers:
                if label == 1:
                    crop, made = maker.make(crop)
                    label = int(not made)
            for augment in self.wave_augmentations:
                crop = augment(crop)
            if self.front_end is None:
                return crop, label  # the features come later, on the device
            crop = self.front_end(crop)
        for augment in self.feature_augmentations:
            crop = augment(crop)
        return self.to_input(self.normalise(crop) if self.normalise else crop), label
