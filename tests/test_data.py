"""Corpus layouts, splits, augmentation and the DataModules' batches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from deepfake_audio.data import GraphDataModule, MelImageDataModule, SequenceDataModule
from deepfake_audio.data.augment import Splice, WhiteNoise
from deepfake_audio.data.corpus import Clip, CorpusError
from deepfake_audio.data.dataset import ClipDataset
from deepfake_audio.data.split import SplitSpec, assign_splits
from deepfake_audio.features import SpectralFeatures

FEATURES = SpectralFeatures(n_mels=20, frames=32)


def _clips(speakers: int, per_speaker: int) -> list[Clip]:
    return [
        Clip(Path(f"{s}-{i}.wav"), label=i % 2, speaker=f"spk{s}")
        for s in range(speakers)
        for i in range(per_speaker)
    ]


def test_split_is_speaker_disjoint_and_near_70_15_15():
    clips = assign_splits(_clips(40, 10), SplitSpec(), seed=3)
    speakers = {
        split: {c.speaker for c in clips if c.split == split} for split in ("train", "val", "test")
    }
    assert not speakers["train"] & speakers["val"]
    assert not speakers["train"] & speakers["test"]
    assert not speakers["val"] & speakers["test"]
    sizes = Counter(clip.split for clip in clips)
    assert sizes == {"train": 280, "val": 60, "test": 60}


def test_split_is_reproducible_and_seed_dependent():
    first = assign_splits(_clips(40, 10), SplitSpec(), seed=3)
    assert first == assign_splits(_clips(40, 10), SplitSpec(), seed=3)
    assert first != assign_splits(_clips(40, 10), SplitSpec(), seed=4)


def test_stratified_split_without_speakers():
    clips = [Clip(Path(f"{i}.wav"), label=int(i < 60)) for i in range(100)]
    clips = assign_splits(clips, SplitSpec(), seed=0)
    by_split = Counter((clip.split, clip.label) for clip in clips)
    assert by_split[("train", 1)] == 42 and by_split[("train", 0)] == 28
    assert by_split[("test", 1)] == 9 and by_split[("test", 0)] == 6


def test_too_few_speakers_for_a_disjoint_split():
    with pytest.raises(CorpusError, match="at least 3 speakers"):
        assign_splits(_clips(2, 5), SplitSpec(), seed=0)


def test_subset_fraction_keeps_both_classes():
    clips = assign_splits(_clips(40, 10), SplitSpec(subset_fraction=0.1), seed=0)
    assert Counter(clip.label for clip in clips) == {0: 20, 1: 20}


def test_white_noise_keeps_shape_and_adds_noise_at_the_asked_snr():
    torch.manual_seed(0)
    wave = torch.sin(torch.linspace(0, 400, 16_000))
    noisy = WhiteNoise(min_snr_db=20, max_snr_db=20, p=1.0)(wave)
    assert noisy.shape == wave.shape
    snr = 10 * torch.log10(wave.pow(2).mean() / (noisy - wave).pow(2).mean())
    assert float(snr) == pytest.approx(20, abs=0.5)
    assert torch.equal(WhiteNoise(p=0.0)(wave), wave)


def test_evaluation_windows_cover_each_clip_as_inference_does():
    lengths = {"long.wav": 10, "exact.wav": 4, "short.wav": 3}
    clips = [Clip(Path(name), label=1) for name in lengths]

    reads: list[str] = []

    def read(clip: Clip) -> torch.Tensor:
        reads.append(clip.path.name)
        return torch.arange(float(lengths[clip.path.name]))

    options = {"clips": clips, "read": read, "length": 4, "to_input": None, "waves": True}
    windows = ClipDataset(**options, window_hop=4)
    assert windows.owners == [0, 0, 0, 1, 2]
    reads.clear()
    items = [windows[item] for item in range(len(windows))]
    assert reads == list(lengths)  # each clip read once, not once per window
    assert [item[2] for item in items] == [0, 1, 2, 3, 4]
    starts = [0, 4, 6, 0]  # the last window of the long clip ends at its end
    for (crop, _, _), start in zip(items, starts, strict=False):
        assert crop.tolist() == list(range(start, start + 4))
    assert items[4][0].tolist() == [0, 1, 2, 0]  # a short clip is repeated to the length

    first = ClipDataset(**options)
    assert first.owners == [0, 1, 2] and len(first) == 3
    assert first[0][0].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no window_hop"):
        ClipDataset(**options, train=True, window_hop=4)


def test_kept_items_are_read_and_made_once_and_are_the_items_made_without_keeping():
    lengths = {"long.wav": 12, "short.wav": 3}
    clips = [Clip(Path(name), label=index % 2) for index, name in enumerate(lengths)]
    reads: list[str] = []

    def read(clip: Clip) -> torch.Tensor:
        reads.append(clip.path.name)
        return torch.arange(float(lengths[clip.path.name]))[None]

    made: list[list[float]] = []

    def to_input(crop: torch.Tensor) -> torch.Tensor:
        made.append(crop[0].tolist())
        return crop.mean(-1)

    options = {"clips": clips, "read": read, "length": 4, "to_input": to_input, "crop_step": 4}
    kept = ClipDataset(**options, train=True, seed=3, keep_items=True)
    plain = ClipDataset(**options, train=True, seed=3)
    keys = [(index, epoch) for epoch in range(12) for index in range(len(clips))]
    items = [kept[key] for key in keys]
    windows = {tuple(crop) for crop in made}
    assert len(made) == len(windows) == 4  # the long clip's three windows and the short one
    assert sorted(reads) == ["long.wav"] * 3 + ["short.wav"]  # once per window in 12 epochs
    for key, (inputs, label, index) in zip(keys, items, strict=True):
        expected = plain[key]
        assert torch.equal(inputs, expected[0]) and label == expected[1] and index == expected[2]

    evaluation = ClipDataset(**options, window_hop=4, keep_items=True)
    for _ in range(2):
        reads.clear()
        assert [evaluation[item][0].item() for item in range(4)] == [1.5, 5.5, 9.5, 0.75]
    assert reads == []  # the second pass makes nothing again


def test_training_items_draw_a_version_of_their_clip_and_keep_each_version_apart():
    clips = [Clip(Path(f"{index}.wav"), label=1) for index in range(4)]
    versions = [lambda clip, value=value: torch.full((1, 4), value) for value in (0.0, 1.0, 2.0)]
    options = {"clips": clips, "length": 4, "to_input": lambda crop: crop[0, 0], "train": True}
    kept = ClipDataset(read=versions[0], copies=versions[1:], seed=5, keep_items=True, **options)
    plain = ClipDataset(read=versions[0], copies=versions[1:], seed=5, **options)
    keys = [(index, epoch) for epoch in range(10) for index in range(len(clips))]
    drawn = [float(kept[key][0]) for key in keys]
    assert drawn == [float(plain[key][0]) for key in keys]  # kept by version, not mixed up
    assert set(drawn) == {0.0, 1.0, 2.0}
    assert drawn != [float(kept[index, epoch + 1][0]) for index, epoch in keys]  # epochs differ
    with pytest.raises(ValueError, match="evaluation reads clips"):
        ClipDataset(read=versions[0], copies=versions[1:], clips=clips, length=4, to_input=None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"augmented_copies": -1}, "0 or more"),
        ({"augmented_copies": 1, "augmentations": []}, "waveform augmentations"),
        ({"augmented_copies": 1, "cache": False}, "cache: true"),
        ({"augmented_copies": 1, "augmentations": [Splice(), WhiteNoise()]}, "Splice relabels"),
    ],
)
def test_augmented_copies_need_waveform_augmentations_that_keep_labels_and_a_cache(
    options: dict, message: str
):
    arguments = {"augmentations": [WhiteNoise()], **options}
    with pytest.raises(ValueError, match=message):
        SequenceDataModule(features=FEATURES, **arguments)


def test_a_datamodule_trains_on_cached_augmented_copies(tiny_corpus: Path):
    datamodule = SequenceDataModule(
        root=tiny_corpus, features=FEATURES, num_workers=0, augmented_copies=2,
        augmentations=[WhiteNoise(min_snr_db=0, max_snr_db=0, p=1.0)],
    )  # fmt: skip
    datamodule.setup("fit")
    assert datamodule.placement("train", True) == "cache"
    train = datamodule.train_dataloader().dataset
    assert len(train.versions) == 3 and not train.wave_augmentations
    clip = train.clips[0]
    original, *copies = (read(clip) for read in train.versions)
    assert all(copy.shape == original.shape and not torch.equal(copy, original) for copy in copies)
    assert not torch.equal(copies[0], copies[1])
    assert len(datamodule.val_dataloader().dataset.versions) == 1


def test_augmented_training_items_are_never_kept():
    clip, wave = Clip(Path("a.wav"), label=1), torch.sin(torch.arange(8_000.0))
    noise = [WhiteNoise(p=1.0)]
    dataset = ClipDataset(  # one window: every epoch crops it at the same start
        [clip], lambda _: wave, 8_000, lambda crop: crop, waves=True, train=True,
        augmentations=noise, keep_items=True,
    )  # fmt: skip
    assert not torch.equal(dataset[0, 0][0], dataset[0, 1][0])


def test_test_loader_windows_follow_test_windows(tiny_corpus: Path):
    loaders = {}
    for mode in ("all", "first"):
        datamodule = SequenceDataModule(
            root=tiny_corpus, features=FEATURES, num_workers=0, test_windows=mode
        )
        datamodule.setup("test")
        loaders[mode] = datamodule.test_dataloader().dataset
    clips = len(datamodule.clips["test"])
    assert len(loaders["first"]) == clips
    assert len(loaders["all"]) > clips
    assert sorted(set(loaders["all"].owners)) == list(range(clips))


def test_cached_feature_windows_start_where_inference_windows_do(tiny_corpus: Path, tmp_path):
    features = SpectralFeatures(n_mels=20, frames=20)
    datasets = {}
    for cache in (True, False):
        datamodule = SequenceDataModule(
            root=tiny_corpus, features=features, num_workers=0, cache=cache, cache_dir=tmp_path
        )
        datamodule.setup("test")
        datasets[cache] = datamodule.test_dataloader().dataset
    cached, waves = datasets[True], datasets[False]
    assert len(waves) > len(cached.clips)  # clips span several windows
    for clip in range(len(cached.clips)):
        frames = [start for owner, start in cached.windows if owner == clip]
        samples = [start for owner, start in waves.windows if owner == clip]
        if len(samples) == len(frames) + 1:
            # The waveform's last window starts under one hop after the one before it: the
            # cached features have no frame of their own for it.
            assert samples[-1] - samples[-2] < features.hop_length
            samples = samples[:-1]
        assert frames == [start // features.hop_length for start in samples]


def test_test_windows_must_be_all_or_first(tiny_corpus: Path):
    with pytest.raises(ValueError, match="test_windows must be 'all' or 'first'"):
        SequenceDataModule(root=tiny_corpus, test_windows="All")


def _first_batch(datamodule):
    datamodule.setup("fit")
    return next(iter(datamodule.train_dataloader()))


@pytest.mark.parametrize("channels", [3, 1])
def test_mel_image_batches(tiny_corpus: Path, channels: int):
    dm = MelImageDataModule(
        root=tiny_corpus, channels=channels, features=FEATURES, batch_size=4, num_workers=0
    )
    images, labels, indices = _first_batch(dm)
    assert images.shape == (4, channels, 20, 32)
    assert dm.input_shape == [channels, 20, 32]
    assert set(labels.tolist()) <= {0.0, 1.0}
    train = dm.clips["train"]
    assert labels.tolist() == [float(train[int(i)].label) for i in indices]
    assert torch.isfinite(images).all()


def test_sequence_batches(tiny_corpus: Path):
    dm = SequenceDataModule(root=tiny_corpus, features=FEATURES, batch_size=4, num_workers=0)
    frames, labels, indices = _first_batch(dm)
    assert frames.shape == (4, 32, 20)
    assert labels.shape == (4,)


def test_graph_batches(tiny_corpus: Path):
    dm = GraphDataModule(root=tiny_corpus, k=5, features=FEATURES, batch_size=4, num_workers=0)
    graphs, labels, indices = _first_batch(dm)
    assert graphs.num_graphs == 4
    assert graphs.x.shape == (4 * 32, 20)
    assert graphs.edge_index.shape == (2, 4 * 32 * 5)
    assert labels.shape == (4,)


def test_datamodule_split_is_speaker_disjoint(tiny_corpus: Path):
    dm = SequenceDataModule(root=tiny_corpus, features=FEATURES, num_workers=0)
    dm.setup("fit")
    speakers = {split: {clip.speaker for clip in clips} for split, clips in dm.clips.items()}
    assert all(speakers.values())
    assert not speakers["train"] & (speakers["val"] | speakers["test"])


@pytest.mark.parametrize("datamodule", [MelImageDataModule, SequenceDataModule, GraphDataModule])
def test_log_mel_on_the_device_matches_the_loader_path(tiny_corpus: Path, datamodule):
    def first_val_batch(**options):
        dm = datamodule(root=tiny_corpus, features=FEATURES, batch_size=4, num_workers=0, **options)
        dm.setup("fit")
        batch = next(iter(dm.val_dataloader()))
        return dm.on_after_batch_transfer(batch, 0)

    per_item = first_val_batch(cache=False)
    on_device = first_val_batch(features_on_device=True)
    if datamodule is GraphDataModule:
        assert torch.equal(per_item[0].edge_index, on_device[0].edge_index)
        per_item, on_device = (per_item[0].x, *per_item[1:]), (on_device[0].x, *on_device[1:])
    assert on_device[0].shape == per_item[0].shape
    assert torch.allclose(on_device[0], per_item[0], atol=1e-4)
    assert torch.equal(on_device[1], per_item[1]) and torch.equal(on_device[2], per_item[2])
