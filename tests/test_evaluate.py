"""Per-attack EER: each attack's spoofs against the whole bona fide pool."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deepfake_audio.data.corpus import Clip
from deepfake_audio.evaluate.breakdown import _first_occurrence, eer_per_attack


def test_eer_per_attack_uses_every_bona_fide_clip():
    clips = [Clip(Path(f"b{i}"), 1) for i in range(4)]
    clips += [Clip(Path(f"x{i}"), 0, attack="easy") for i in range(2)]
    clips += [Clip(Path(f"y{i}"), 0, attack="hard") for i in range(2)]
    bona_fide = [0.9, 0.8, 0.7, 0.4]
    scores = torch.tensor([*bona_fide, 0.1, 0.2, 0.85, 0.3])
    results = eer_per_attack(clips, scores)
    assert set(results) == {"easy", "hard"}
    assert results["easy"] == pytest.approx(0.0)
    # "hard": one of two spoofs (0.85) outranks three of four bona fide; EER lies between.
    assert 0.25 <= results["hard"] <= 0.5


def test_clips_without_attacks_give_no_breakdown():
    clips = [Clip(Path("a"), 1), Clip(Path("b"), 0)]
    assert eer_per_attack(clips, torch.tensor([0.9, 0.1])) == {}


def test_padded_duplicates_count_once():
    unique, first = _first_occurrence(torch.tensor([3, 1, 3, 2, 1]))
    assert unique.tolist() == [1, 2, 3]
    assert first.tolist() == [1, 3, 0]
