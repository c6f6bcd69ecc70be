"""Every corpus layout, indexed into one table of (path, label, speaker, attack, split)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from deepfake_audio.data.corpus import CorpusError, detect_format, index_corpus
from deepfake_audio.data.split import SplitSpec, assign_splits


def _tone(path: Path, seconds: float = 0.2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16_000 * seconds)) / 16_000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 300 * t), 16_000)
    return path


def test_in_the_wild_layout(tiny_corpus: Path):
    clips = index_corpus(tiny_corpus)
    assert len(clips) == 24
    assert Counter(clip.label for clip in clips) == {1: 12, 0: 12}
    assert len({clip.speaker for clip in clips}) == 4


def test_missing_files_are_left_out_with_a_count(tiny_corpus: Path, tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)
    (corpus / "0.flac").unlink()
    with pytest.warns(UserWarning, match="left out 1 of 24"):
        clips = index_corpus(corpus)
    assert len(clips) == 23


def test_unknown_label_names_the_line(tmp_path: Path):
    (tmp_path / "meta.csv").write_text("file,speaker,label\na.wav,x,maybe\n")
    with pytest.raises(CorpusError, match=r"meta.csv line 2: unknown label 'maybe'"):
        index_corpus(tmp_path)


def test_unknown_layout_is_an_error(tmp_path: Path):
    with pytest.raises(CorpusError, match="no known corpus layout"):
        index_corpus(tmp_path)


def _folders(tiny_corpus: Path, root: Path, partitions: tuple[str, ...]) -> None:
    """Copy the tiny corpus into real/ and fake/ folders, dealt over ``partitions``."""
    for index, clip in enumerate(index_corpus(tiny_corpus)):
        parts = [partitions[index % len(partitions)]] if partitions else []
        target = root.joinpath(*parts, "real" if clip.label else "fake")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip.path, target / clip.path.name)


def test_real_and_fake_folders(tiny_corpus: Path, tmp_path: Path):
    _folders(tiny_corpus, tmp_path, ())
    clips = index_corpus(tmp_path)
    assert Counter(clip.label for clip in clips) == {1: 12, 0: 12}
    assert all(clip.split is None and clip.speaker is None for clip in clips)


def test_partitioned_folders_keep_their_partition(tiny_corpus: Path, tmp_path: Path):
    _folders(tiny_corpus, tmp_path, ("train", "val", "test"))
    clips = assign_splits(index_corpus(tmp_path), SplitSpec(), seed=0)
    for clip in clips:
        assert clip.split == clip.path.parts[-3]


def test_in_the_wild_attacks_come_from_meta_full(tiny_corpus: Path):
    clips = index_corpus(tiny_corpus)
    assert {clip.attack for clip in clips if clip.label == 0} == {"griffinlim_mel", "lpc_pulse"}
    assert all(clip.attack is None for clip in clips if clip.label == 1)


def test_duplicate_rows_are_an_error(tmp_path: Path):
    _tone(tmp_path / "a.wav")
    (tmp_path / "meta.csv").write_text("file,speaker,label\na.wav,x,spoof\na.wav,x,spoof\n")
    with pytest.raises(CorpusError, match="listed twice"):
        index_corpus(tmp_path)


def test_folders_name_attacks_after_subfolders_of_fake(tmp_path: Path):
    _tone(tmp_path / "real" / "r.wav")
    _tone(tmp_path / "fake" / "tts-x" / "f.wav")
    _tone(tmp_path / "fake" / "g.flac")
    attacks = {clip.path.name: clip.attack for clip in index_corpus(tmp_path)}
    assert attacks == {"r.wav": None, "f.wav": "tts-x", "g.flac": None}


ASV_PROTOCOLS = {
    "train.trn": ["LA_0079 LA_T_1 - - bonafide", "LA_0079 LA_T_2 - A01 spoof"],
    "dev.trl": ["LA_0069 LA_D_1 - - bonafide", "LA_0069 LA_D_2 - A02 spoof"],
    "eval.trl": ["LA_0039 LA_E_1 - - bonafide", "LA_0039 LA_E_2 - A07 spoof"],
}


def _asvspoof(root: Path) -> Path:
    protocols = root / "ASVspoof2019_LA_cm_protocols"
    protocols.mkdir(parents=True)
    for name, lines in ASV_PROTOCOLS.items():
        partition = name.split(".")[0]
        (protocols / f"ASVspoof2019.LA.cm.{name}.txt").write_text("\n".join(lines) + "\n")
        for line in lines:
            _tone(root / f"ASVspoof2019_LA_{partition}" / "flac" / f"{line.split()[1]}.flac")
    return root


def test_asvspoof2019_keeps_the_official_partition_and_attacks(tmp_path: Path):
    clips = index_corpus(_asvspoof(tmp_path))
    assert detect_format(tmp_path) == "asvspoof2019"
    table = {(c.path.stem, c.label, c.speaker, c.attack, c.split) for c in clips}
    assert table == {
        ("LA_T_1", 1, "LA_0079", None, "train"),
        ("LA_T_2", 0, "LA_0079", "A01", "train"),
        ("LA_D_1", 1, "LA_0069", None, "val"),
        ("LA_D_2", 0, "LA_0069", "A02", "val"),
        ("LA_E_1", 1, "LA_0039", None, "test"),
        ("LA_E_2", 0, "LA_0039", "A07", "test"),
    }
    assert assign_splits(clips, SplitSpec(), seed=0) == clips


def test_asvspoof2019_malformed_protocol_line_is_named(tmp_path: Path):
    _asvspoof(tmp_path)
    protocol = tmp_path / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.dev.trl.txt"
    protocol.write_text("LA_0069 LA_D_1 bonafide\n")
    with pytest.raises(CorpusError, match=r"dev.trl.txt line 1: expected 'SPEAKER UTT"):
        index_corpus(tmp_path)


def test_manifest_with_optional_columns(tmp_path: Path):
    _tone(tmp_path / "audio" / "a.wav")
    _tone(tmp_path / "audio" / "b.wav")
    manifest = tmp_path / "list.csv"
    manifest.write_text(
        "path,label,speaker,split,attack\n"
        "audio/a.wav,bona-fide,s1,train,\n"
        "audio/b.wav,spoof,s2,dev,tts-9\n"
    )
    clips = index_corpus(manifest)
    assert detect_format(manifest) == "manifest"
    table = {(c.path, c.label, c.speaker, c.split, c.attack) for c in clips}
    assert table == {
        (tmp_path / "audio" / "a.wav", 1, "s1", "train", None),
        (tmp_path / "audio" / "b.wav", 0, "s2", "val", "tts-9"),
    }


def test_minimal_manifest_and_explicit_format(tmp_path: Path):
    _tone(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text("path,label\na.wav,fake\n")
    clips = index_corpus(tmp_path / "m.csv", format="manifest")
    assert [(c.label, c.speaker, c.split) for c in clips] == [(0, None, None)]


def test_manifest_without_label_column(tmp_path: Path):
    (tmp_path / "m.csv").write_text("path\na.wav\n")
    with pytest.raises(CorpusError, match=r"missing column\(s\) \['label'\]"):
        index_corpus(tmp_path / "m.csv")


def test_given_partition_sharing_a_speaker_fails_loudly(tmp_path: Path):
    _tone(tmp_path / "a.wav")
    _tone(tmp_path / "b.wav")
    (tmp_path / "m.csv").write_text("path,label,speaker,split\na.wav,1,s1,train\nb.wav,0,s1,test\n")
    clips = index_corpus(tmp_path / "m.csv")
    with pytest.raises(CorpusError, match="'s1' in \\['test', 'train'\\]"):
        assign_splits(clips, SplitSpec(), seed=0)
    assert len(assign_splits(clips, SplitSpec(speaker_disjoint=False), seed=0)) == 2


def test_partly_given_partition_is_an_error(tmp_path: Path):
    _tone(tmp_path / "a.wav")
    _tone(tmp_path / "b.wav")
    (tmp_path / "m.csv").write_text("path,label,split\na.wav,1,train\nb.wav,0,\n")
    with pytest.raises(CorpusError, match="1 of 2 clips name a split"):
        assign_splits(index_corpus(tmp_path / "m.csv"), SplitSpec(), seed=0)


def test_unknown_format_name(tmp_path: Path):
    with pytest.raises(CorpusError, match="unknown corpus format"):
        index_corpus(tmp_path, format="timit")
