"""Augmentations keep shape and finiteness and change the signal; only spoof makers touch
labels, and only of bona fide training crops."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.augment import (
    BandLimit,
    Codec,
    ConvolutiveNoise,
    Gain,
    ImpulsiveNoise,
    Mp3,
    Opus,
    ResampleChain,
    Reverb,
    SpecAugment,
    Splice,
    SpoofMaker,
    WhiteNoise,
)
from deepfake_audio.features import SpectralFeatures

WAVE_AUGMENTATIONS = [
    WhiteNoise(p=1.0),
    Gain(p=1.0),
    ConvolutiveNoise(p=1.0),
    ImpulsiveNoise(p=1.0),
    BandLimit(p=1.0),
    Codec(p=1.0),
    Mp3(p=1.0),
    Opus(p=1.0),
    ResampleChain(p=1.0),
    Reverb(p=1.0),
    Splice(p=1.0),
]


def _speech_like(samples: int = 16_000) -> torch.Tensor:
    t = torch.arange(samples) / 16_000
    harmonics = sum(torch.sin(2 * torch.pi * 150 * k * t) / k for k in range(1, 30))
    return 0.3 * harmonics * (1 + torch.sin(2 * torch.pi * 3 * t)) / 2


@pytest.mark.parametrize("augment", WAVE_AUGMENTATIONS, ids=lambda a: type(a).__name__)
def test_wave_augmentations_keep_shape_and_change_the_signal(augment):
    torch.manual_seed(0)
    wave = _speech_like()
    out = augment(wave)
    assert out.shape == wave.shape
    assert torch.isfinite(out).all()
    assert not torch.allclose(out, wave)


@pytest.mark.parametrize("augment", WAVE_AUGMENTATIONS, ids=lambda a: type(a).__name__)
def test_p_zero_is_the_identity(augment):
    wave = _speech_like()
    augment.p = 0.0
    assert torch.equal(augment(wave), wave)
    augment.p = 1.0


def test_band_limit_removes_the_high_band():
    torch.manual_seed(0)
    noise = torch.randn(16_000)
    out = BandLimit(rates=[8000], p=1.0)(noise)
    spectrum = torch.fft.rfft(out).abs()
    assert spectrum[5000:].mean() < 0.05 * spectrum[:3000].mean()  # bins are 1 Hz apart


def _share_above(wave: torch.Tensor, hertz: float) -> float:
    power = torch.fft.rfft(wave).abs().pow(2)
    return float(power[torch.fft.rfftfreq(len(wave), 1 / 16_000) > hertz].sum() / power.sum())


def test_lossy_codecs_keep_length_and_alignment_and_discard_detail():
    torch.manual_seed(0)
    noise = 0.1 * torch.randn(32_000)
    narrow = Opus(min_compression=1.0, max_compression=1.0, p=1.0)(noise)
    assert narrow.shape == noise.shape and _share_above(narrow, 4_500) < 0.01  # about 6 kbit/s
    assert _share_above(noise, 4_500) > 0.4
    assert _share_above(Mp3(0.9, 0.9, p=1.0)(noise), 6_000) < 0.75 * _share_above(noise, 6_000)
    speech = _speech_like(32_000)
    decoded = Mp3(0.0, 0.0, p=1.0)(speech)  # the best quality: the same waveform, not shifted
    assert torch.corrcoef(torch.stack([decoded, speech]))[0, 1] > 0.99
    with pytest.raises(ValueError, match="max_compression <= 0.9"):
        Mp3(0.0, 1.0)


def test_a_resampling_chain_through_a_narrow_rate_limits_the_band():
    torch.manual_seed(0)
    noise = 0.1 * torch.randn(32_000)
    chained = ResampleChain(rates=[8_000], max_steps=1, p=1.0)(noise)
    assert chained.shape == noise.shape and _share_above(chained, 4_500) < 0.01
    with pytest.raises(ValueError, match="max_steps must be at least 1"):
        ResampleChain(max_steps=0)


@pytest.mark.parametrize("codec", [Mp3(p=1.0), Opus(p=1.0)], ids=["mp3", "opus"])
def test_codecs_apply_to_both_classes_alike(tiny_corpus: Path, codec):
    features = SpectralFeatures(n_mels=20, frames=32)
    coded = SequenceDataModule(
        root=tiny_corpus, features=features, augmentations=[codec], num_workers=0
    )
    plain = SequenceDataModule(
        root=tiny_corpus, features=features, augmentations=[Gain(p=0.0)], num_workers=0
    )
    for dm in (coded, plain):
        dm.setup("fit")
    changed = Counter()
    for index, clip in enumerate(coded.clips["train"]):
        inputs, label, _ = coded.train_dataloader().dataset[index]
        reference, _, _ = plain.train_dataloader().dataset[index]
        assert int(label) == clip.label  # a codec never marks a label
        changed[clip.label] += not torch.allclose(inputs, reference, atol=1e-3)
    counts = Counter(clip.label for clip in coded.clips["train"])
    assert changed == counts  # every crop of both classes went through the codec


def test_gain_scales_by_the_drawn_decibels():
    wave = _speech_like()
    out = Gain(min_db=-6.0, max_db=-6.0, p=1.0)(wave)
    assert torch.allclose(out, wave * 10 ** (-6 / 20))


def test_reverb_decays_60_db_over_its_reverberation_time_at_the_same_level():
    torch.manual_seed(0)
    click = torch.zeros(16_000)
    click[1000] = 1.0
    out = Reverb(min_rt60=0.5, max_rt60=0.5, p=1.0)(click)
    assert torch.isclose(out.pow(2).mean(), click.pow(2).mean())
    assert out[:1000].abs().max() < 1e-6  # nothing before the direct path
    energy = out[1000:].pow(2)
    quarter = 2000  # RT60 / 4 in samples: -15 dB of amplitude, energy down by e^-3.45
    assert 0.01 < energy[quarter : 2 * quarter].sum() / energy[:quarter].sum() < 0.1
    assert energy[4 * quarter :].sum() / energy.sum() < 1e-5  # 60 dB down after RT60


@pytest.mark.parametrize("drr_db", [-5.0, 0.0, 10.0])
def test_reverb_direct_to_reverberant_ratio(drr_db: float):
    click = torch.zeros(16_000)
    click[1000] = 1.0
    out = Reverb(0.5, 0.5, min_drr_db=drr_db, max_drr_db=drr_db, p=1.0)(click)
    direct, tail = out[1000].pow(2), out[1001:].pow(2).sum()
    assert torch.isclose(10 * torch.log10(direct / tail), torch.tensor(drr_db), atol=1e-3)
    assert torch.isclose(out.pow(2).mean(), click.pow(2).mean())


def test_reverb_needs_both_drr_bounds_in_order():
    for low, high in [(0.0, None), (None, 5.0), (5.0, 0.0)]:
        with pytest.raises(ValueError, match="min_drr_db <= max_drr_db or neither"):
            Reverb(min_drr_db=low, max_drr_db=high)


def test_reverb_refuses_an_empty_or_negative_time_range():
    with pytest.raises(ValueError, match="min_rt60"):
        Reverb(min_rt60=0.8, max_rt60=0.2)


def test_spec_augment_masks_with_the_mean_and_keeps_shape():
    torch.manual_seed(0)
    logmel = torch.randn(40, 100)
    out = SpecAugment(freq_masks=1, max_freq_width=40, time_masks=0, p=1.0)(logmel)
    assert out.shape == logmel.shape
    masked_rows = (out == logmel.mean()).all(dim=1)
    assert masked_rows.sum() == (out != logmel).any(dim=1).sum()


def test_p_must_be_a_probability():
    with pytest.raises(ValueError, match="p must be in"):
        WhiteNoise(p=1.5)


def test_splice_joins_segments_of_the_crop_at_crossfades():
    torch.manual_seed(0)
    ramp = torch.arange(16_000, dtype=torch.float64)  # every sample tells where it came from
    out = Splice(min_ms=40, max_ms=160, fade_ms=5, p=1.0)(ramp)
    steps = torch.diff(out) == 1
    # Runs of consecutive input samples: the segments, less their crossfades.
    edges = torch.diff(torch.cat([torch.tensor([0]), steps.int(), torch.tensor([0])]))
    starts, ends = torch.where(edges == 1)[0], torch.where(edges == -1)[0]
    runs = (ends - starts + 1)[:-1].tolist()  # the last segment is cut at the crop's end
    assert 16_000 // 2_560 <= len(runs) + 1 <= 16_000 // 640 + 1
    assert all(640 - 80 <= run <= 2_560 + 1 for run in runs)
    copied = out[:-1][steps]  # samples followed by their successor in the input
    assert torch.equal(copied, copied.round()) and 0 <= copied.min() <= copied.max() < 16_000
    assert not torch.equal(torch.sort(copied).values, copied)  # in another order


@pytest.mark.parametrize(
    "lengths", [{"min_ms": 200, "max_ms": 100}, {"fade_ms": 0}, {"fade_ms": 50, "min_ms": 40}]
)
def test_splice_needs_positive_lengths_in_order(lengths: dict):
    with pytest.raises(ValueError, match="0 < fade_ms <= min_ms <= max_ms"):
        Splice(**lengths)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_spliced_bona_fide_training_crops_are_labelled_spoof(tiny_corpus: Path, p: float):
    features = SpectralFeatures(n_mels=20, frames=32)
    dm = SequenceDataModule(
        root=tiny_corpus, features=features, augmentations=[Splice(p=p)], num_workers=0
    )
    dm.setup("fit")
    # Reads waveforms too, and crops them alike; WhiteNoise at p 0 leaves them as they are.
    plain = SequenceDataModule(
        root=tiny_corpus, features=features, augmentations=[WhiteNoise(p=0.0)], num_workers=0
    )
    plain.setup("fit")
    train, untouched = dm.train_dataloader().dataset, plain.train_dataloader().dataset
    for index, clip in enumerate(dm.clips["train"]):
        inputs, label, _ = train[index]
        made = clip.label == 1 and p == 1.0
        assert label == (0 if made else clip.label)
        assert torch.equal(inputs, untouched[index][0]) != made
    bona_fide = sum(clip.label for clip in dm.clips["train"])
    assert dm.training_class_sizes() == (
        bona_fide * (1 - p),
        len(dm.clips["train"]) - bona_fide * (1 - p),
    )
    # Evaluation items keep their labels.
    val = dm.val_dataloader().dataset
    assert [int(val[i][1]) for i in range(len(val))] == [c.label for c in dm.clips["val"]]


def test_training_items_keep_their_labels_under_augmentation(tiny_corpus: Path):
    label_blind = [a for a in WAVE_AUGMENTATIONS if not isinstance(a, SpoofMaker)]
    everything = [*label_blind, SpecAugment(p=1.0)]
    dm = SequenceDataModule(
        root=tiny_corpus,
        features=SpectralFeatures(n_mels=20, frames=32),
        augmentations=everything,
        num_workers=0,
    )
    dm.setup("fit")
    dataset = dm.train_dataloader().dataset
    features = SpectralFeatures(n_mels=20, frames=32)
    plain = SequenceDataModule(root=tiny_corpus, features=features, num_workers=0)
    plain.setup("fit")
    for index in range(len(dataset)):
        inputs, label, position = dataset[index]
        assert inputs.shape == (32, 20)
        assert torch.isfinite(inputs).all()
        assert position == index
        assert label == dm.clips["train"][index].label == plain.clips["train"][index].label
    # Evaluation is never augmented.
    val = dm.val_dataloader().dataset
    assert not val.wave_augmentations and not val.feature_augmentations


@pytest.mark.parametrize("options", [{"cepstra": 10}, {"phase": True}])
def test_band_masks_are_refused_on_cepstral_or_phase_rows(options: dict):
    features = SpectralFeatures(n_mels=20, frames=32, **options)
    with pytest.raises(ValueError, match="SpecAugment masks filterbank bands"):
        SequenceDataModule(root=None, features=features, augmentations=[SpecAugment()])
    SequenceDataModule(root=None, features=features, augmentations=[WhiteNoise()])  # waves are fine
