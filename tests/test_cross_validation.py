"""The cross-validation protocol: the folds of one seed test every clip once, and no test
speaker is ever in training or validation."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.data.corpus import Clip, CorpusError, index_manifest
from deepfake_audio.data.split import SplitSpec, assign_splits
from deepfake_audio.evaluate.tables import pooled_eer


def _corpus(speakers: bool = True) -> list[Clip]:
    """25 speakers with 1 to 4 bona fide clips and as many spoofs each."""
    clips = []
    for speaker in range(25):
        name = f"spk{speaker}" if speakers else None
        for take in range(1 + speaker % 4):
            clips.append(Clip(Path(f"s{speaker}_bona_{take}.wav"), 1, name))
            clips.append(Clip(Path(f"s{speaker}_spoof_{take}.wav"), 0, name, "tts"))
    return clips


def _check_folds(folds: list[list[Clip]], corpus: list[Clip], speakers: bool) -> None:
    tested = Counter(clip.path for fold in folds for clip in fold if clip.split == "test")
    assert set(tested) == {clip.path for clip in corpus}
    assert set(tested.values()) == {1}
    for fold in folds:
        assert sorted(clip.path for clip in fold) == sorted(clip.path for clip in corpus)
        by_split = {name: [c for c in fold if c.split == name] for name in ("train", "val", "test")}
        assert all({c.label for c in members} == {0, 1} for members in by_split.values())
        if speakers:
            test_speakers = {clip.speaker for clip in by_split["test"]}
            training = by_split["train"] + by_split["val"]
            assert test_speakers.isdisjoint(clip.speaker for clip in training)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("folds", [2, 3, 5])
@pytest.mark.parametrize("speakers", [True, False])
def test_the_folds_of_a_seed_test_every_clip_once_on_unseen_speakers(seed, folds, speakers):
    corpus = _corpus(speakers)
    split = [
        assign_splits(corpus, SplitSpec(folds=folds, test_fold=fold), seed) for fold in range(folds)
    ]
    _check_folds(split, corpus, speakers)
    sizes = [sum(clip.split == "test" for clip in fold) for fold in split]
    # Whole speakers: at most one speaker's clips apart; without: one clip per label.
    assert max(sizes) - min(sizes) <= (8 if speakers else 2)


def test_a_bad_fold_or_a_corpus_with_its_own_partition_is_refused():
    with pytest.raises(ValueError, match="folds must be at least 2, got 1"):
        SplitSpec(folds=1)
    with pytest.raises(ValueError, match="test_fold must be 0 to 4, got 5"):
        SplitSpec(test_fold=5)
    with pytest.raises(ValueError, match="val_fraction 0.5 leaves nothing to train on"):
        SplitSpec(folds=2, test_fold=0, val_fraction=0.5)
    few_bona_fide = [c for c in _corpus(speakers=False) if c.label == 0] + _corpus(False)[:4:2]
    with pytest.raises(CorpusError, match="fold 4 of 5: its test split has one class only"):
        assign_splits(few_bona_fide, SplitSpec(test_fold=4), 0)
    given = [Clip(clip.path, clip.label, clip.speaker, split="train") for clip in _corpus()]
    with pytest.raises(CorpusError, match="cross-validation .* without a partition"):
        assign_splits(given, SplitSpec(test_fold=0), 0)


@pytest.mark.slow
def test_compare_runs_one_fit_per_fold(tiny_corpus: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = str(CONFIG_DIR / "lstm.yaml")
    extra = [*small_run_args(tiny_corpus, tmp_path / "runs", batch_size=4)]
    extra += ["--trainer.max_epochs=1", "--trainer.limit_train_batches=2"]
    protocol = ["--protocol", "cross-validation", "--folds", "2", "--configs", config]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", *protocol, "--out", "out", "--", *extra])
    assert exit_info.value.code == 0
    with (tmp_path / "out" / "cross_validation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["test_fold"] for row in rows] == ["0", "1"]
    runs = [Path(row["run"]) for row in rows]
    folds = [index_manifest(run / "splits.csv") for run in runs]
    corpus = folds[0]
    _check_folds(folds, corpus, speakers=True)
    assert "fold 1 of 2" in (runs[1] / "data_report.txt").read_text()
    table = (tmp_path / "out" / "cross_validation.md").read_text()
    assert "| Model | fold 0 | fold 1 | Mean | Pooled |" in table
    assert table.count("| lstm |") == 1
    assert f"({len(corpus)} clips) |" in table


def test_cross_validation_needs_configs(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", "--protocol", "cross-validation", "--runs", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--protocol cross-validation trains: give --configs" in capsys.readouterr().err


def test_pooling_refuses_folds_whose_test_splits_overlap(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    rows = ["file,speaker,label,attack,duration,score", "a.wav,s1,bona-fide,,1.0,0.9"]
    (run / "scores.csv").write_text("\n".join([*rows, "b.wav,s2,spoof,tts,1.0,0.2"]) + "\n")
    assert pooled_eer([run])[0] == 0.0
    with pytest.raises(ValueError, match="2 clips are in more than one fold's test split"):
        pooled_eer([run, run])
