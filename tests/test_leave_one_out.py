"""The leave-one-out protocols: no clip of the held-out attack, source, corpus or speaker, and
no test speaker, is ever trained or validated on."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.data.corpus import Clip, CorpusError, index_corpus, index_manifest
from deepfake_audio.data.split import (
    GROUPS,
    SplitSpec,
    assign_splits,
    attacks_of,
    hold_out_attack,
    make_splits,
)
from deepfake_audio.evaluate.scores import eer_threshold, read_scores
from deepfake_audio.training import protocols

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
    fold, _ = hold_out_attack(split, held_out)
    _check_fold(fold, held_out, set(ATTACKS))
    # Only spoofs are dropped: every bona fide clip keeps its split.
    assert [c for c in fold if c.label == 1] == [c for c in split if c.label == 1]


def test_an_unknown_attack_is_named_with_the_known_ones():
    split = assign_splits(_corpus(), SplitSpec(), 0)
    with pytest.raises(CorpusError, match=r"'wavenet' is not in the corpus.*codec, tts, vocoder"):
        hold_out_attack(split, "wavenet")


def _sourced_corpus() -> list[Clip]:
    """Two corpora of three sample pages each; page speakers are the page's, except one voice
    ("shared") that every page of the first corpus records, as a public speaker would be."""
    clips = []
    for corpus in ("a", "b"):
        for page in range(3):
            for speaker in [*(f"{corpus}{page}-{n}" for n in range(6)), "shared"]:
                if speaker == "shared" and corpus == "b":
                    continue
                for take in range(2):
                    name = f"{corpus}/{page}/{speaker}/{take}"
                    clips.append(
                        Clip(
                            Path(f"{name}-bona.wav"), 1, speaker, None, None, corpus, f"page{page}"
                        )
                    )
                    clips.append(
                        Clip(
                            Path(f"{name}-spoof.wav"),
                            0,
                            speaker,
                            f"tts{page}",
                            None,
                            corpus,
                            f"page{page}",
                        )
                    )
    return clips


def _check_held_out(clips: list[Clip], group: str, value: str) -> None:
    members = [clip for clip in clips if getattr(clip, group) == value]
    training = [clip for clip in clips if clip.split in ("train", "val")]
    assert members and all(clip.split == "test" for clip in members)
    assert {clip.split for clip in clips} == {"train", "val", "test"}
    assert value not in {getattr(clip, group) for clip in training}
    assert {clip.label for clip in members} == {0, 1}
    tested = {clip.speaker for clip in clips if clip.split == "test"}
    assert tested.isdisjoint(clip.speaker for clip in training)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("group", "value"),
    [
        ("source", "page0"),
        ("source", "page2"),
        ("corpus", "a"),
        ("corpus", "b"),
        ("speaker", "shared"),
    ],
)
def test_a_held_out_group_is_the_test_split_and_never_trained_on(group, value, seed):
    clips = _sourced_corpus()
    fold, line = make_splits(clips, SplitSpec(held_out=value, held_out_group=group), seed)
    _check_held_out(fold, group, value)
    # Only the held-out group's speakers lose clips: every other clip trains or validates.
    members = {c.path for c in clips if getattr(c, group) == value}
    speakers = {c.speaker for c in clips if c.path in members}
    kept = {c.path for c in clips if c.path in members or c.speaker not in speakers}
    assert {c.path for c in fold} == kept
    assert f"leave-one-{group}-out: {value!r}" in line


def test_holding_out_a_source_leaves_out_its_speakers_elsewhere():
    clips = _sourced_corpus()
    fold, line = make_splits(clips, SplitSpec(held_out="page1", held_out_group="source"), 0)
    shared_elsewhere = [c for c in clips if c.speaker == "shared" and c.source != "page1"]
    assert shared_elsewhere and not {c.path for c in shared_elsewhere} & {c.path for c in fold}
    assert f"{len(shared_elsewhere)} other clips of its 13 speaker(s)" in line


def test_several_sources_are_held_out_together_in_one_fold():
    clips = _sourced_corpus()
    fold, line = make_splits(
        clips, SplitSpec(held_out=["page1", "page2"], held_out_group="source"), 0
    )
    test = [c for c in fold if c.split == "test"]
    assert {c.source for c in test} == {"page1", "page2"}
    assert len(test) == sum(c.source in {"page1", "page2"} for c in clips)
    trained = [c for c in fold if c.split != "test"]
    assert not {c.speaker for c in trained} & {c.speaker for c in test}
    assert "'page1', 'page2' (" in line and "are the test split" in line
    single, _ = make_splits(clips, SplitSpec(held_out=["page1"], held_out_group="source"), 0)
    assert single == make_splits(clips, SplitSpec(held_out="page1", held_out_group="source"), 0)[0]
    with pytest.raises(ValueError, match="one attack at a time"):
        SplitSpec(held_out=["tts", "world"], held_out_group="attack")


def test_a_group_of_one_class_or_an_unknown_group_is_refused():
    one_class = [c for c in _sourced_corpus() if not (c.source == "page0" and c.label == 0)]
    spec = SplitSpec(held_out="page0", held_out_group="source")
    with pytest.raises(CorpusError, match="'page0' has clips of one class only"):
        make_splits(one_class, spec, 0)
    with pytest.raises(CorpusError, match="'page9' is not in the corpus; its sources: page0"):
        make_splits(one_class, SplitSpec(held_out="page9", held_out_group="source"), 0)
    with pytest.raises(ValueError, match="held_out_group must be one of"):
        SplitSpec(held_out="x", held_out_group="page")


def test_the_old_spelling_of_a_held_out_attack_still_works():
    spec = SplitSpec(held_out_attack="tts")
    assert (spec.held_out, spec.held_out_group) == ("tts", "attack")
    with pytest.raises(ValueError, match="not both"):
        SplitSpec(held_out="tts", held_out_attack="tts")
    assert set(GROUPS) == {"attack", "source", "corpus", "speaker"}


@pytest.mark.slow
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
    assert "| Held-out attack | Test clips (bona fide / spoof) | lstm |" in table
    # Again with --reuse: the tested folds are taken as they are, nothing is fitted.
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", *protocol[:-1], "again", "--reuse", "--", *extra])
    assert exit_info.value.code == 0
    assert sorted(p.name for p in (tmp_path / "runs" / "lstm").iterdir()) == [
        "version_0",
        "version_1",
    ]
    again = (tmp_path / "again" / "leave_one_attack_out.csv").read_text()
    assert again == (tmp_path / "out" / "leave_one_attack_out.csv").read_text()
    for row in rows:  # each attack's row: its fold's EER, as the run's metrics say
        metrics = json.loads((Path(row["run"]) / "metrics.json").read_text())
        assert float(row["eer"]) == pytest.approx(metrics["eer"])
        assert f"| {row['held_out_attack']} | {metrics['clips']} (" in table
    assert "**pooled**" not in table  # attack folds share their bona fide clips


@pytest.mark.slow
def test_compare_runs_one_fold_per_source(tiny_corpus: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "pages.csv"  # the tiny corpus as two sample pages of two voices each
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker", "attack", "source"])
        for clip in index_corpus(tiny_corpus):
            page = "page-a" if clip.speaker in ("demo00", "demo01") else "page-b"
            writer.writerow([clip.path, clip.label, clip.speaker, clip.attack or "", page])
    config = str(CONFIG_DIR / "lstm.yaml")
    extra = [*small_run_args(manifest, tmp_path / "runs", batch_size=4)]
    extra += ["--trainer.max_epochs=1", "--trainer.limit_train_batches=2"]
    extra += ["--data.split.val_fraction=0.3", "--data.split.test_fraction=0.2"]
    protocol = ["--protocol", "leave-one-out", "--group", "source", "--configs", config]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", *protocol, "--out", "out", "--", *extra])
    assert exit_info.value.code == 0
    with (tmp_path / "out" / "leave_one_source_out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["held_out_source"] for row in rows] == ["page-a", "page-b"]
    for row in rows:
        _check_held_out(
            index_manifest(Path(row["run"]) / "splits.csv"), "source", row["held_out_source"]
        )
    table = (tmp_path / "out" / "leave_one_source_out.md").read_text()
    assert "| Held-out source | Test clips (bona fide / spoof) | lstm |" in table
    assert "| page-a | 12 (6 / 6) |" in table and "| page-b | 12 (6 / 6) |" in table
    assert "| **pooled** |" in table and "(24 clips)" in table


def _pages_manifest(corpus: Path, folder: Path) -> Path:
    """A manifest of the corpus with four source pages, one voice each."""
    manifest = folder / "pages.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker", "attack", "source"])
        for clip in index_corpus(corpus):
            page = f"page-{clip.speaker[-1]}"
            writer.writerow([clip.path, clip.label, clip.speaker, clip.attack or "", page])
    return manifest


@pytest.mark.slow
def test_compare_deals_sources_into_folds_held_out_together(
    tiny_corpus: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    manifest = _pages_manifest(tiny_corpus, tmp_path)
    config = str(CONFIG_DIR / "lstm.yaml")
    extra = [*small_run_args(manifest, tmp_path / "runs", batch_size=4)]
    extra += ["--trainer.max_epochs=1", "--trainer.limit_train_batches=2"]
    extra += ["--data.split.val_fraction=0.3", "--data.split.speaker_disjoint=false"]
    protocol = ["--protocol", "leave-one-out", "--group", "source", "--folds", "2"]
    held = ["--held-out", "page-0", "page-1", "page-2", "page-3"]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", *protocol, *held, "--configs", config, "--out", "out", "--", *extra])
    assert exit_info.value.code == 0
    with (tmp_path / "out" / "leave_one_source_out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["held_out_source"] for row in rows) == [f"page-{i}" for i in range(4)]
    runs = {row["run"] for row in rows}
    assert len(runs) == 2  # two fits, each holding out two pages
    pooled = []
    for run in runs:
        fold = index_manifest(Path(run) / "splits.csv")
        tested = {clip.source for clip in fold if clip.split == "test"}
        trained = {clip.source for clip in fold if clip.split != "test"}
        assert len(tested) == 2 and not tested & trained
        pooled += [c for c in fold if c.split == "test"]
        for row in rows:
            if row["run"] == run:  # each page's EER is that of its clips in its fold's scores
                scores = read_scores(Path(run) / "scores.csv")
                mine = [c for c in scores if c.source == row["held_out_source"]]
                eer = eer_threshold([c.score for c in mine], [c.label for c in mine])[0]
                assert float(row["eer"]) == pytest.approx(eer)
    assert len(pooled) == 24
    table = (tmp_path / "out" / "leave_one_source_out.md").read_text()
    assert "| Held-out source | Fold | Test clips (bona fide / spoof) | lstm |" in table
    assert "(24 clips)" in table


def test_a_fusion_recipe_first_in_compare_is_dealt_the_folds_of_its_members(
    tiny_corpus: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    manifest = _pages_manifest(tiny_corpus, tmp_path)
    member = CONFIG_DIR / "lstm.yaml"
    recipe = tmp_path / "pair.yaml"
    recipe.write_text(f"fusion:\n  members: [{member}, {CONFIG_DIR / 'resnet18.yaml'}]\n")
    extra = [f"--data.root={manifest}"]
    of_member = protocols.leave_out_folds(member, "source", None, 2, extra)
    assert protocols.leave_out_folds(recipe, "source", None, 2, extra) == of_member
    assert sorted(page for fold in of_member.values() for page in fold) == [
        f"page-{i}" for i in range(4)
    ]


def test_reuse_matches_a_config_by_its_settings_not_its_comments(tmp_path: Path):
    shipped = (CONFIG_DIR / "lstm.yaml").read_text()
    same, other = tmp_path / "same" / "lstm.yaml", tmp_path / "other" / "lstm.yaml"
    for path in (same, other):
        path.parent.mkdir()
    same.write_text("# a note on the recipe\n" + shipped + "\n\n")
    other.write_text(shipped.replace("seed_everything: 42", "seed_everything: 7"))
    record = protocols._record(CONFIG_DIR / "lstm.yaml", 42, ["--data.root=x"])
    assert protocols._record(same, 42, ["--data.root=x"]) == record
    assert protocols._record(other, 42, ["--data.root=x"]) != record


def test_a_fusion_is_reused_only_while_its_members_keep_their_settings(tmp_path: Path):
    member = tmp_path / "lstm.yaml"
    member.write_text((CONFIG_DIR / "lstm.yaml").read_text())
    recipe, members = tmp_path / "pair.yaml", [member, CONFIG_DIR / "resnet18.yaml"]
    recipe.write_text(f"fusion:\n  members: [{members[0]}, {members[1]}]\n")
    record = protocols._record(recipe, 42, ["--data.root=x"], members)
    assert protocols._record(recipe, 42, ["--data.root=x"], members) == record
    member.write_text(member.read_text().replace("seed_everything: 42", "seed_everything: 7"))
    assert protocols._record(recipe, 42, ["--data.root=x"], members) != record
