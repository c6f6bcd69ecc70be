"""End-to-end CLI behaviour: every config fits, fit -> test finds the best checkpoint, DDP."""

from __future__ import annotations

import json
import math
import re
from argparse import ArgumentError
from collections import Counter
from pathlib import Path

import pytest
from conftest import (
    CONFIG_DIR,
    CONFIGS,
    front_end_kind,
    needs_whisper,
    run_cli,
    run_cli_process,
    small_run_args,
)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from deepfake_audio.errors import UserError
from deepfake_audio.evaluate.scores import read_scores


def _marks(config: Path) -> list:
    return [needs_whisper] if front_end_kind(config) == "whisper" else []


@pytest.mark.slow
@pytest.mark.parametrize("config", [pytest.param(c, marks=_marks(c), id=c.stem) for c in CONFIGS])
def test_every_config_fits_and_checkpoints_with_finite_losses(
    config: Path, tiny_corpus: Path, tmp_path: Path
):
    one_batch = [
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=1",
        "--trainer.limit_val_batches=1",
        "--trainer.num_sanity_val_steps=0",
        "--trainer.log_every_n_steps=1",
        # Weights only: a third of the disk for SENet-154's GB checkpoints (resume is tested apart).
        "--checkpoint.save_weights_only=true",
        "--last_checkpoint.save_weights_only=true",
    ]
    run_cli(
        ["fit", f"--config={config}", *small_run_args(tiny_corpus, tmp_path, config=config)]
        + one_batch
    )
    run = next((tmp_path / config.stem).glob("version_*"))
    for checkpoint in ("best.ckpt", "last.ckpt"):
        assert (run / "checkpoints" / checkpoint).is_file(), checkpoint
    logged = EventAccumulator(str(run)).Reload()
    for tag in ("train/loss", "val/loss"):
        assert all(math.isfinite(event.value) for event in logged.Scalars(tag)), tag


@pytest.mark.slow
def test_print_config_names_the_detector_and_data(tmp_path: Path, capsys: pytest.CaptureFixture):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["fit", f"--config={CONFIG_DIR / 'senet.yaml'}", "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "backbone: senet154" in printed
    assert "deepfake_audio.data.MelImageDataModule" in printed


@pytest.mark.slow
def test_fit_then_test_finds_the_best_checkpoint_in_a_fresh_process(
    tiny_corpus: Path, tmp_path: Path
):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    common = small_run_args(tiny_corpus, tmp_path, batch_size=4)
    run_cli(["fit", config, *common, "--trainer.max_epochs=2"])
    run_dir = tmp_path / "lstm" / "version_0"
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    logged = EventAccumulator(str(run_dir)).Reload().Tags()["scalars"]
    assert {"val/eer", "val/acc", "val/auroc", "train/loss"} <= set(logged)

    tested = run_cli_process(["test", config, *common])
    assert tested.returncode == 0, tested.stderr[-3000:]
    output = tested.stdout + tested.stderr
    assert f"{run_dir / 'checkpoints' / 'best.ckpt'}" in output
    for metric in ("test/acc", "test/f1", "test/tpr", "test/tnr", "test/eer", "test/auroc"):
        assert metric in output
    assert "test/eer/griffinlim_mel" in output and "test/eer/lpc_pulse" in output
    # The logged test metrics are the clips' (windows averaged), as in metrics.json.
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["checkpoint"] == "checkpoints/best.ckpt"  # named from the run, not the disk
    environment = json.loads((run_dir / "environment-test.json").read_text())
    assert not any(arg.startswith("/") for arg in environment["command"])
    scalars = EventAccumulator(str(run_dir)).Reload()
    assert scalars.Scalars("test/auroc")[-1].value == pytest.approx(metrics["auroc"], abs=1e-6)
    assert scalars.Scalars("test/eer")[-1].value == pytest.approx(metrics["eer"], abs=1e-6)
    # The test run logs beside the fit it evaluated, not into a new version.
    assert not (tmp_path / "lstm" / "version_1").exists()
    assert (run_dir / "config-test.yaml").is_file()


def test_test_without_a_fit_says_what_to_do(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    with pytest.raises(UserError, match="no best.ckpt under .*run `deepfake fit`"):
        run_cli(["test", config, *small_run_args(tiny_corpus, tmp_path)])


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_fits_and_tests_every_clip_once(tiny_corpus: Path, tmp_path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    args = [a for a in small_run_args(tiny_corpus, tmp_path) if "devices" not in a]
    ddp = ["--trainer.devices=2", "--trainer.strategy=ddp"]
    fitted = run_cli_process(["fit", config, *args, *ddp, "--trainer.max_epochs=1"])
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    run_dir = tmp_path / "lstm" / "version_0"
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()

    tested = run_cli_process(["test", config, *args, *ddp])
    assert tested.returncode == 0, tested.stderr[-3000:]
    # Each rank scored half of the (padded) test split; the report holds every clip once.
    scored = (run_dir / "scores.csv").read_text().splitlines()[1:]
    test_clips = [
        row for row in (run_dir / "splits.csv").read_text().splitlines() if ",test," in row
    ]
    assert len(scored) == len(set(scored)) == len(test_clips) == 6
    assert json.loads((run_dir / "metrics.json").read_text())["clips"] == 6
    # Clips span several windows, dealt to both ranks: their means equal one process's.
    by_ranks = {clip.file: clip.score for clip in read_scores(run_dir / "scores.csv")}
    run_cli(["test", config, *args])  # one process: this one
    alone = {clip.file: clip.score for clip in read_scores(run_dir / "scores.csv")}
    assert by_ranks.keys() == alone.keys()
    for file, score in by_ranks.items():
        assert score == pytest.approx(alone[file], abs=1e-5)


@pytest.mark.slow
def test_runs_write_reproducible_split_lists_and_a_data_report(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    quick = [
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=1",
        "--trainer.limit_val_batches=1",
    ]
    for _ in range(2):
        run_cli(["fit", config, *small_run_args(tiny_corpus, tmp_path), *quick])
    first, second = (tmp_path / "lstm" / f"version_{n}" for n in (0, 1))
    assert (first / "splits.csv").read_text() == (second / "splits.csv").read_text()
    rows = (first / "splits.csv").read_text().splitlines()
    assert rows[0] == "path,label,speaker,split,attack,corpus,source,codec"
    assert len(rows) == 1 + 24
    assert "0 unreadable" in (first / "data_report.txt").read_text()
    assert (first / "unreadable.csv").read_text().strip() == "path,reason"

    run_cli(["fit", config, *small_run_args(tiny_corpus, tmp_path), *quick, "--data.seed=7"])
    third = tmp_path / "lstm" / "version_2" / "splits.csv"
    assert third.read_text() != (first / "splits.csv").read_text()


def test_data_check_prints_the_report_and_fails_on_unreadable_files(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "check", f"--data.root={tiny_corpus}", "--data.num_workers=0"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "files: 24 found, 0 unreadable (left out), 24 used" in printed
    per_split = re.findall(r"^  (train|val|test): (.*)$", printed, flags=re.MULTILINE)
    assert [split for split, _ in per_split] == ["train", "val", "test"]
    totals = Counter()
    for _, attacks in per_split:
        totals.update({a: int(n) for a, n in re.findall(r"(\w+) \((\d+)\)", attacks)})
    assert totals == {"griffinlim_mel": 6, "lpc_pulse": 6}

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "real").mkdir()
    (corpus / "fake").mkdir()
    for clip in sorted(tiny_corpus.glob("*.flac"))[:6]:
        (corpus / "real" / clip.name).symlink_to(clip)
    (corpus / "fake" / "broken.wav").write_text("not audio")
    for clip in sorted(tiny_corpus.glob("*.flac"))[6:12]:
        (corpus / "fake" / clip.name).symlink_to(clip)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "check", f"--data.root={corpus}", "--data.num_workers=0"])
    assert exit_info.value.code == 1
    printed = capsys.readouterr().out
    assert "1 unreadable (left out), 12 used" in printed
    assert "broken.wav" in printed


DATAMODULES = [
    "MelImageDataModule", "SequenceDataModule", "GraphDataModule", "LayerDataModule",
    "WaveformDataModule",
]  # fmt: skip
SHARED_ARGUMENTS = [
    "root", "split", "augmentations", "format", "cache", "cache_dir",
    "features_on_device", "batch_size", "num_workers", "seed", "test_windows",
]  # fmt: skip
OWN_ARGUMENTS = {
    "MelImageDataModule": ["channels", "features"],
    "SequenceDataModule": ["features"],
    "GraphDataModule": ["k", "features"],
    "LayerDataModule": ["features"],
    "WaveformDataModule": ["features"],
}


@pytest.mark.parametrize("datamodule", DATAMODULES)
@pytest.mark.parametrize("option", ["bacth_size", "chanels"])
def test_a_misspelt_datamodule_argument_is_refused(datamodule: str, option: str):
    with pytest.raises(ArgumentError, match=f"'{option}' is not accepted"):
        run_cli(
            [
                "fit",
                f"--config={CONFIG_DIR / 'lstm.yaml'}",
                f"--data=deepfake_audio.data.{datamodule}",
                f"--data.init_args.{option}=4",
            ]
        )


@pytest.mark.slow
@pytest.mark.parametrize("datamodule", DATAMODULES)
def test_help_and_print_config_show_every_datamodule_argument(
    datamodule: str, capsys: pytest.CaptureFixture
):
    expected = SHARED_ARGUMENTS + OWN_ARGUMENTS[datamodule]
    with pytest.raises(SystemExit):
        run_cli(["fit", f"--data.help=deepfake_audio.data.{datamodule}"])
    shown = capsys.readouterr().out
    for name in expected:
        assert re.search(rf"--data\.{name}[ .]", shown), name
    with pytest.raises(SystemExit):
        run_cli(
            [
                "fit",
                f"--config={CONFIG_DIR / 'lstm.yaml'}",
                f"--data=deepfake_audio.data.{datamodule}",
                "--print_config",
            ]
        )
    printed = capsys.readouterr().out
    data = printed[printed.index("\ndata:") :]
    for name in expected:
        assert f"\n    {name}:" in data, name
