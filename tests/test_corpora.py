"""Several corpora in one run (namespaced speakers and attacks, splits across corpora, files the
corpora disagree on), and the ASVspoof 2021 and ASVspoof 5 protocols."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.corpus import CorpusError, detect_format, index_corpora, index_manifest
from deepfake_audio.data.split import SplitSpec, assign_splits
from deepfake_audio.evaluate.scores import read_scores


def _tone(path: Path, seconds: float = 0.2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16_000 * seconds)) / 16_000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 300 * t), 16_000)
    return path


@pytest.fixture(scope="module")
def two_corpora(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> list[Path]:
    """Two copies of the tiny corpus: the same speaker and attack names, other files."""
    base = module_folder("corpora")
    return [Path(shutil.copytree(tiny_corpus, base / name)) for name in ("alpha", "beta")]


def test_speakers_and_attacks_are_namespaced_by_corpus(two_corpora: list[Path]):
    clips = index_corpora(two_corpora)
    assert Counter(clip.corpus for clip in clips) == {"alpha": 24, "beta": 24}
    speakers = {clip.speaker for clip in clips}
    assert len(speakers) == 8 and {"alpha/demo00", "beta/demo00"} <= speakers
    attacks = {clip.attack for clip in clips if clip.attack}
    assert attacks == {
        f"{c}/{a}" for c in ("alpha", "beta") for a in ("griffinlim_mel", "lpc_pulse")
    }
    # One corpus alone keeps its names, and still says which corpus each clip is from.
    alone = index_corpora(two_corpora[:1])
    assert {clip.speaker for clip in alone} == {f"demo0{n}" for n in range(4)}
    assert {clip.corpus for clip in alone} == {"alpha"}


def test_the_split_is_speaker_disjoint_and_shares_every_corpus(two_corpora: list[Path]):
    for seed in (0, 1, 2):
        clips = assign_splits(index_corpora(two_corpora), SplitSpec(), seed)
        for split in ("train", "val", "test"):
            assert {c.corpus for c in clips if c.split == split} == {"alpha", "beta"}
        for speaker in {c.speaker for c in clips}:
            assert len({c.split for c in clips if c.speaker == speaker}) == 1


def test_a_corpus_with_its_own_partition_keeps_it_beside_one_without(
    two_corpora: list[Path], tmp_path: Path
):
    partitioned = tmp_path / "given.csv"
    rows = ["path,label,speaker,split"]
    for index, split in enumerate(("train", "dev", "eval", "train")):
        rows.append(f"{_tone(tmp_path / f'{index}.wav')},{index % 2},g{index},{split}")
    partitioned.write_text("\n".join(rows) + "\n")
    clips = assign_splits(index_corpora([two_corpora[0], partitioned]), SplitSpec(), 0)
    given = {c.path.name: c.split for c in clips if c.corpus == "given"}
    assert given == {"0.wav": "train", "1.wav": "val", "2.wav": "test", "3.wav": "train"}
    assert {c.split for c in clips if c.corpus == "alpha"} == {"train", "val", "test"}


def test_a_file_two_corpora_disagree_on_is_an_error(tmp_path: Path):
    clip = _tone(tmp_path / "shared.wav")
    (tmp_path / "first.csv").write_text(f"path,label\n{clip},bona-fide\n")
    (tmp_path / "second.csv").write_text(f"path,label\n{clip},spoof\n")
    with pytest.raises(
        CorpusError,
        match="shared.wav: corpus 'first' labels it bona-fide and corpus 'second' spoof",
    ):
        index_corpora([tmp_path / "first.csv", tmp_path / "second.csv"])
    (tmp_path / "second.csv").write_text(f"path,label\n{clip},bona-fide\n")
    with pytest.warns(UserWarning, match="1 file\\(s\\) are listed by two corpora"):
        assert len(index_corpora([tmp_path / "first.csv", tmp_path / "second.csv"])) == 1


def test_two_corpora_of_one_name_are_refused(two_corpora: list[Path], tmp_path: Path):
    other = Path(shutil.copytree(two_corpora[0], tmp_path / "elsewhere" / "alpha"))
    with pytest.raises(CorpusError, match="two corpora are named 'alpha'"):
        index_corpora([two_corpora[0], other])


@pytest.mark.slow
def test_a_run_on_two_corpora_reports_each_corpus(two_corpora: list[Path], tmp_path: Path):
    roots = "[" + ", ".join(map(str, two_corpora)) + "]"
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    args = [*small_run_args(two_corpora[0], tmp_path, batch_size=4), f"--data.root={roots}"]
    run_cli(["fit", config, *args, "--trainer.max_epochs=1"])
    run_cli(["test", config, *args])
    run = tmp_path / "lstm" / "version_0"
    splits = index_manifest(run / "splits.csv")
    assert Counter(clip.corpus for clip in splits) == {"alpha": 24, "beta": 24}
    assert "alpha: train" in (run / "data_report.txt").read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["per_corpus"]) == {"alpha", "beta"}
    assert "beta/lpc_pulse" in metrics["per_attack"]
    assert {clip.corpus for clip in read_scores(run / "scores.csv")} == {"alpha", "beta"}
    # splits.csv is a manifest: reused, it keeps every clip's corpus and namespaced speaker.
    again = SequenceDataModule(root=str(run / "splits.csv"), num_workers=0)
    assert {c.speaker for c in again.index()} == {c.speaker for c in splits}
    # The saved config names both corpora, and reruns as it is.
    assert (
        "alpha" in yaml.safe_load((run / "config.yaml").read_text())["data"]["init_args"]["root"][0]
    )
    run_cli(
        [
            "test",
            f"--config={run / 'config.yaml'}",
            f"--ckpt_path={run / 'checkpoints' / 'best.ckpt'}",
        ]
    )


ASVSPOOF2021 = {
    "LA": [
        "LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval",
        "LA_0009 LA_E_1000001 none - bonafide bonafide notrim progress",
    ],
    "DF": [
        "LA_0043 DF_E_2000026 mp3m4a asvspoof A09 spoof notrim eval",
        "VCC2SM1 DF_E_2000027 nocodec vcc2020 bonafide bonafide notrim eval",
    ],
}


def _asvspoof2021(root: Path) -> Path:
    for track, lines in ASVSPOOF2021.items():
        keys = root / "keys" / track / "CM"
        keys.mkdir(parents=True)
        (keys / "trial_metadata.txt").write_text("\n".join(lines) + "\n")
        for line in lines:
            _tone(root / f"ASVspoof2021_{track}_eval" / "flac" / f"{line.split()[1]}.flac")
    return root


def test_asvspoof2021_la_and_df_are_evaluation_data_with_codecs_and_sources(tmp_path: Path):
    root = _asvspoof2021(tmp_path / "asv21")
    assert detect_format(root) == "asvspoof2021"
    table = {
        (c.path.stem, c.label, c.speaker, c.attack, c.split, c.codec, c.source)
        for c in index_corpora([root])
    }
    assert table == {
        ("LA_E_9332881", 0, "LA_0009", "A07", "test", "alaw/ita_tx", "LA/asvspoof"),
        ("LA_E_1000001", 1, "LA_0009", None, "test", "none/-", "LA/asvspoof"),
        ("DF_E_2000026", 0, "LA_0043", "A09", "test", "mp3m4a", "DF/asvspoof"),
        ("DF_E_2000027", 1, "VCC2SM1", None, "test", "nocodec", "DF/vcc2020"),
    }


def test_an_evaluation_only_corpus_alone_cannot_train(tmp_path: Path):
    dm = SequenceDataModule(
        root=_asvspoof2021(tmp_path / "asv21"), num_workers=0, cache_dir=tmp_path
    )
    with pytest.raises(CorpusError, match="no clip is in the training split"):
        dm.setup("fit")


def test_asvspoof5_keeps_its_partition_and_names_codecs(tmp_path: Path):
    protocols = tmp_path / "ASVspoof5_protocols"
    protocols.mkdir()
    lines = {
        ("ASVspoof5.train.tsv", "flac_T"): ["T_4850 T_0000000000 F - - - AC3 A05 spoof -"],
        ("ASVspoof5.dev.track_1.tsv", "flac_D"): [
            "D_0062 D_0000000001 M - - - bonafide bonafide bonafide -"
        ],
        ("ASVspoof5.eval.track_1.tsv", "flac_E_eval"): [
            "E_0001 E_0000000002 F C05 3 - AC2 A20 spoof -"
        ],
    }
    for (name, folder), rows in lines.items():
        (protocols / name).write_text("\n".join(rows) + "\n")
        _tone(tmp_path / folder / f"{rows[0].split()[1]}.flac")
    assert detect_format(tmp_path) == "asvspoof5"
    table = {
        (c.path.stem, c.label, c.speaker, c.attack, c.split, c.codec)
        for c in index_corpora([tmp_path])
    }
    assert table == {
        ("T_0000000000", 0, "T_4850", "A05", "train", "none"),
        ("D_0000000001", 1, "D_0062", None, "val", "none"),
        ("E_0000000002", 0, "E_0001", "A20", "test", "C05/q3"),
    }
    (protocols / "ASVspoof5.train.tsv").write_text("T_4850 T_0000000000 F -\n")
    with pytest.raises(CorpusError, match=r"train.tsv line 1: expected 'SPEAKER FILE GENDER"):
        index_corpora([tmp_path])
