"""The built-in demo corpus: deterministic, balanced, and no label in level or length."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from deepfake_audio.data.demo import ensure_demo_corpus, make_demo_corpus


def _rows(root: Path) -> list[dict[str, str]]:
    with (root / "meta_full.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_arguments_give_identical_files(tmp_path: Path):
    first = make_demo_corpus(tmp_path / "a", n_speakers=1, clips_per_speaker=2, seed=5)
    second = make_demo_corpus(tmp_path / "b", n_speakers=1, clips_per_speaker=2, seed=5)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_speakers_made_in_parallel_give_the_same_corpus(tmp_path: Path):
    serial = make_demo_corpus(tmp_path / "a", n_speakers=2, clips_per_speaker=1, workers=1)
    parallel = make_demo_corpus(tmp_path / "b", n_speakers=2, clips_per_speaker=1, workers=2)
    names = sorted(p.name for p in serial.iterdir())
    assert names == sorted(p.name for p in parallel.iterdir()) and len(names) == 6
    for name in names:
        assert (serial / name).read_bytes() == (parallel / name).read_bytes()


def test_every_spoof_is_a_same_length_twin(tiny_corpus: Path):
    rows = _rows(tiny_corpus)
    bona = [r for r in rows if r["label"] == "bona-fide"]
    spoof = [r for r in rows if r["label"] == "spoof"]
    assert len(bona) == len(spoof) == 12
    assert sorted(r["duration"] for r in bona) == sorted(r["duration"] for r in spoof)
    assert {r["generator"] for r in spoof} >= {"griffinlim_mel", "lpc_pulse"}
    for row in rows:
        audio, rate = sf.read(tiny_corpus / row["file"])
        assert rate == 16_000 and audio.ndim == 1
        assert 3.0 <= len(audio) / rate <= 6.0
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


def test_ensure_generates_once_and_reuses(tmp_path: Path):
    root = ensure_demo_corpus(tmp_path / "demo", n_speakers=1, clips_per_speaker=1)
    stamp = (root / "meta.csv").stat().st_mtime_ns
    assert ensure_demo_corpus(root, n_speakers=1, clips_per_speaker=1) == root
    assert (root / "meta.csv").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob(".demo.tmp-*"))
