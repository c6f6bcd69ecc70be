"""The on-disk cache: same arrays as computing directly, reused, rebuilt on change; unreadable
files of every kind are found when the cache is built, never inside a DataLoader."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from deepfake_audio.audio import fit_length, load_audio
from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.augment import WhiteNoise
from deepfake_audio.data.cache import (
    ArrayCache,
    AugmentedExtractor,
    UtteranceExtractor,
    WaveformExtractor,
)
from deepfake_audio.features import SpectralFeatures
from deepfake_audio.runs import RunFolder

FEATURES = SpectralFeatures(n_mels=20, frames=32)


def _write_tone(path: Path, seconds: float = 0.5) -> Path:
    t = np.arange(int(16_000 * seconds)) / 16_000
    sf.write(path, 0.4 * np.sin(2 * np.pi * 220 * t), 16_000)
    return path


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return [_write_tone(tmp_path / f"{i}.wav", 0.3 + 0.1 * i) for i in range(3)]


def test_cached_logmel_matches_direct_computation(tmp_path: Path):
    long = _write_tone(tmp_path / "long.wav", 2.5)
    cache = ArrayCache.build_or_open(
        [long], UtteranceExtractor(FEATURES), tmp_path / "c", workers=0
    )
    direct = FEATURES.front_end()(load_audio(long))
    assert cache[long].shape == direct.shape
    assert torch.allclose(cache[long], direct, atol=0.02)  # float16 storage


def test_short_clips_are_repeated_to_a_window_before_the_front_end(
    files: list[Path], tmp_path: Path
):
    features = SpectralFeatures(n_mels=20, frames=32, cepstra=10, deltas=1)
    cache = ArrayCache.build_or_open(files, UtteranceExtractor(features), tmp_path / "c", workers=0)
    for path in files:  # 0.3-0.5 s, shorter than one window: scored as inference scores them
        window = fit_length(load_audio(path), features.window_samples)
        assert torch.allclose(cache[path], features.front_end()(window), atol=0.02)


def test_augmented_copies_are_seeded_by_copy_and_file_and_cached_apart(
    files: list[Path], tmp_path: Path
):
    plain = UtteranceExtractor(FEATURES)
    noise = (WhiteNoise(min_snr_db=5, max_snr_db=5, p=1.0),)
    first, second = (AugmentedExtractor(plain, noise, copy) for copy in (1, 2))
    assert first.settings() != second.settings() != plain.settings()
    assert first.settings()["augmentations"] == [
        {"class": "WhiteNoise", "p": 1.0, "min_snr_db": 5, "max_snr_db": 5}
    ]
    caches = {
        name: ArrayCache.build_or_open(files, extractor, tmp_path / "c", workers=0)
        for name, extractor in [("plain", plain), ("first", first), ("second", second)]
    }
    assert len({cache.folder for cache in caches.values()}) == 3
    torch.manual_seed(0)  # the copies do not depend on the global generator
    again = ArrayCache.build_or_open(files, first, tmp_path / "again", workers=0)
    for path in files:
        made = {name: cache[path] for name, cache in caches.items()}
        assert made["first"].shape == made["plain"].shape
        assert not torch.allclose(made["first"], made["plain"], atol=0.1)
        assert not torch.allclose(made["first"], made["second"], atol=0.1)
        assert torch.equal(again[path], made["first"])


def test_cached_waveform_matches_the_file(files: list[Path], tmp_path: Path):
    cache = ArrayCache.build_or_open(files, WaveformExtractor(FEATURES), tmp_path / "c", workers=0)
    for path in files:
        assert torch.allclose(cache[path], load_audio(path), atol=1 / 32767)


def test_parallel_build_equals_serial_build(files: list[Path], tmp_path: Path):
    serial = ArrayCache.build_or_open(
        files, UtteranceExtractor(FEATURES), tmp_path / "a", workers=0
    )
    parallel = ArrayCache.build_or_open(
        files, UtteranceExtractor(FEATURES), tmp_path / "b", workers=2
    )
    for path in files:
        assert torch.equal(serial[path], parallel[path])


def test_cache_is_reused_until_settings_or_file_contents_change(files, tmp_path: Path):
    cache_dir = tmp_path / "c"
    first = ArrayCache.build_or_open(files, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    stamp = (first.folder / "meta.json").stat().st_mtime_ns
    again = ArrayCache.build_or_open(files, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    assert again.folder == first.folder
    assert (again.folder / "meta.json").stat().st_mtime_ns == stamp

    other = SpectralFeatures(n_mels=24, frames=32)
    resized = ArrayCache.build_or_open(files, UtteranceExtractor(other), cache_dir, workers=0)
    assert resized.folder != first.folder
    assert resized[files[0]].shape[0] == 24

    os.utime(files[0], ns=(stamp + 10**9, stamp + 10**9))  # a fresh copy: same bytes, new time
    copied = ArrayCache.build_or_open(files, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    assert copied.folder == first.folder
    _write_tone(files[0], 0.9)
    os.utime(files[0], ns=(stamp + 10**9, stamp + 10**9))
    changed = ArrayCache.build_or_open(files, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    assert changed.folder not in (first.folder, resized.folder)
    fewer = ArrayCache.build_or_open(files[:2], UtteranceExtractor(FEATURES), cache_dir, workers=0)
    assert fewer.folder not in (first.folder, changed.folder)
    assert not list(cache_dir.glob(".*tmp*"))


class _CountingExtractor(UtteranceExtractor):
    """The extractor, noting the name of every file it reads."""

    def __call__(self, path: Path) -> np.ndarray:
        _read_names.append(path.name)
        return super().__call__(path)


_read_names: list[str] = []  # the names the counting extractor read


def test_a_new_file_list_copies_the_files_another_cache_holds(files, tmp_path: Path):
    cache_dir = tmp_path / "c"
    whole = ArrayCache.build_or_open(files, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    added = _write_tone(tmp_path / "added.wav", 0.7)
    _read_names.clear()
    part = ArrayCache.build_or_open([files[1], added], _CountingExtractor(FEATURES), cache_dir, 0)
    assert part.folder != whole.folder and _read_names == ["added.wav"]
    assert torch.equal(part[files[1]], whole[files[1]])
    fresh = ArrayCache.build_or_open([added], UtteranceExtractor(FEATURES), tmp_path / "d", 0)
    assert torch.equal(part[added], fresh[added])

    (tmp_path / "alias.wav").symlink_to(files[0])  # listed twice: once by each name
    ArrayCache.build_or_open(
        [files[0], tmp_path / "alias.wav", *files[1:]], UtteranceExtractor(FEATURES), cache_dir, 0
    )
    files[1].write_bytes(files[0].read_bytes())  # new content for this path: extracted anew
    _read_names.clear()
    changed = ArrayCache.build_or_open([files[1]], _CountingExtractor(FEATURES), cache_dir, 0)
    assert _read_names == [files[1].name]
    fresh = ArrayCache.build_or_open([files[1]], UtteranceExtractor(FEATURES), tmp_path / "e", 0)
    assert torch.equal(changed[files[1]], fresh[files[1]])


def _broken_files(folder: Path) -> dict[str, str]:
    """Each kind of unusable file, with a word its reason must contain."""
    (folder / "empty.wav").write_bytes(b"")
    sf.write(folder / "no_samples.wav", np.zeros(0), 16_000)
    whole = _write_tone(folder / "whole.wav", 1.0).read_bytes()
    (folder / "truncated.wav").write_bytes(whole[:30])
    (folder / "text.wav").write_text("this is not audio\n")
    nan = np.full(1600, 0.1, dtype=np.float32)
    nan[5] = np.nan
    sf.write(folder / "nan.wav", nan, 16_000, subtype="FLOAT")
    (folder / "whole.wav").unlink()
    return {
        "empty.wav": "cannot read",
        "no_samples.wav": "no samples",
        "truncated.wav": "cannot read",
        "text.wav": "cannot read",
        "nan.wav": "NaN",
    }


def test_every_kind_of_unreadable_file_is_reported(tmp_path: Path):
    broken = _broken_files(tmp_path)
    (tmp_path / "folder.wav").mkdir()  # cannot even be opened, let alone hashed
    broken["folder.wav"] = "cannot read"
    paths = [tmp_path / name for name in broken] + [_write_tone(tmp_path / "good.wav")]
    cache = ArrayCache.build_or_open(paths, UtteranceExtractor(FEATURES), tmp_path / "c", workers=2)
    assert {p.name for p in cache.unreadable} == set(broken)
    for path, reason in cache.unreadable.items():
        assert broken[path.name] in reason
    assert tmp_path / "good.wav" in cache


@pytest.mark.parametrize("cache", [True, False])
def test_datamodule_leaves_out_unreadable_files_and_reports_them(
    tiny_corpus: Path, tmp_path: Path, cache: bool
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = (tiny_corpus / "meta.csv").read_text().splitlines()
    for line in lines[1:]:
        name = line.split(",")[0]
        os.symlink(tiny_corpus / name, corpus / name)
    broken = _broken_files(corpus)
    rows = [f"{name},intruder,spoof" for name in broken]
    (corpus / "meta.csv").write_text("\n".join([*lines, *rows]) + "\n")

    dm = SequenceDataModule(
        root=corpus, features=FEATURES, cache=cache, num_workers=0, batch_size=4
    )
    dm.prepare_data()
    total = len(lines) - 1 + len(broken)
    with pytest.warns(UserWarning, match=f"left out {len(broken)} of {total}"):
        dm.setup("fit")
    assert {p.name for p in dm.report.unreadable} == set(broken)
    used = [clip.path.name for clips in dm.clips.values() for clip in clips]
    assert not set(used) & set(broken)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
            assert sum(len(batch[1]) for batch in loader) > 0

    dm.report.write(RunFolder(tmp_path / "log"))
    report = (tmp_path / "log" / "data_report.txt").read_text()
    assert f"{len(broken)} unreadable" in report
    for name in broken:
        assert name in report
        assert name in (tmp_path / "log" / "unreadable.csv").read_text()


def test_the_same_corpus_by_another_route_finds_its_cache(files: list[Path], tmp_path: Path):
    cache_dir = tmp_path / "c"
    absolute = ArrayCache.build_or_open(files, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    (tmp_path / "link").symlink_to(files[0].parent)
    linked = [tmp_path / "link" / path.name for path in files]
    again = ArrayCache.build_or_open(linked, UtteranceExtractor(FEATURES), cache_dir, workers=0)
    assert again.folder == absolute.folder
    assert all(path in again for path in linked)
    assert torch.equal(again[linked[1]], absolute[files[1]])
