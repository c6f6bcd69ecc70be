"""The leave-one-attack-out protocol: no held-out attack and no test speaker in training."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.data.corpus import Clip, CorpusError, index_manifest
from deepfake_audio.data.split import SplitSpec, assign_splits, attacks_of, hold_out_attack

ATTACKS = ("codec", "tts", "vocoder")


def _corpus() -> list[Clip]:
    """30 speakers with 2 bona fide clips and one spoof per attack each, plus TTS-only voices."""
    clips = []
    for speaker in range(30):
        for take in range(2):
            clips.append(Clip(Path(f"s{speaker}_bona_{take}.wav"), 1, f"spk{speaker}"))
        for attack in ATTACKS:
            clips.append(Clip(Path(f"s{speaker}_{attack}.wav"), 0, f"spk{speaker}", attack))
    clips += [Clip(Path(f"voice{v}.wav"), 0, f"voice{v}", "tts") for v in range(6)]
    return clips


def _check_fold(clips: list[Clip], held_out: str, attacks: set[str]) -> None:
    by_split: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        by_split[clip.split].append(clip)
    training = by_split["train"] + by_split["val"]
    assert held_out not in {clip.attack for clip in training}
    assert {clip.attack for clip in by_split["test"] if clip.label == 0} == {held_out}
    assert {clip.label for clip in by_split["test"]} == {0, 1}
    test_speakers = {clip.speaker for clip in by_split["test"]}
    assert test_speakers.isdisjoint(clip.speaker for clip in training)
    assert set(attacks_of(training)) == attacks - {held_out}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("held_out", ATTACKS)
def test_folds_keep_the_held_out_attack_and_test_speakers_out_of_training(held_out, seed):
    split = assign_splits(_corpus(), SplitSpec(), seed)
    fold = hold_out_attack(split, held_out)
    _check_fold(fold, held_out, set(ATTACKS))
    # Only spoofs are dropped: every bona fide clip keeps its split.
    assert [c for c in fold if c.label == 1] == [c for c in split if c.label == 1]


def test_an_unknown_attack_is_named_with_the_known_ones():
    split = assign_splits(_corpus(), SplitSpec(), 0)
    with pytest.raises(CorpusError, match=r"'wavenet' is not in the corpus.*codec, tts, vocoder"):
        hold_out_attack(split, "wavenet")


def test_compare_runs_one_fold_per_attack(tiny_corpus: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = str(CONFIG_DIR / "lstm.yaml")
    extra = [*small_run_args(tiny_corpus, tmp_path / "runs", batch_size=4)]
    extra += ["--trainer.max_epochs=1", "--trainer.limit_train_batches=2"]
    protocol = ["--protocol", "leave-one-attack-out", "--configs", config, "--out", "out"]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", *protocol, "--", *extra])
    assert exit_info.value.code == 0
    with (tmp_path / "out" / "leave_one_attack_out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["held_out_attack"] for row in rows] == ["griffinlim_mel", "lpc_pulse"]
    for row in rows:
        _check_fold(
            index_manifest(Path(row["run"]) / "splits.csv"),
            row["held_out_attack"],
            {"griffinlim_mel", "lpc_pulse"},
        )
        report = (Path(row["run"]) / "data_report.txt").read_text()
        assert f"{row['held_out_attack']!r} held out of training" in report
    table = (tmp_path / "out" / "leave_one_attack_out.md").read_text()
    assert "| Model | griffinlim_mel | lpc_pulse | Mean | Worst |" in table
    assert table.count("| lstm |") == 1
