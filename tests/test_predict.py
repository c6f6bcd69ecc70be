"""deepfake predict: every file of a corpus or a file list scored as deepfake detect scores it,
into predictions.csv; under DDP each process scores a shard and every file comes out once."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, run_cli, run_cli_process, small_run_args

from deepfake_audio.serve.detect import COLUMNS
from deepfake_audio.serve.inference import AudioDetector

CONFIG = f"--config={CONFIG_DIR / 'lstm.yaml'}"


@pytest.fixture(scope="module")
def fitted(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> Path:
    """The folder of a one-epoch LSTM run (whose checkpoint predict finds by itself)."""
    root = module_folder("predict")
    run_cli(["fit", CONFIG, *small_run_args(tiny_corpus, root, 4), "--trainer.max_epochs=1"])
    return root


@pytest.fixture(scope="module")
def file_list(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> Path:
    """Five clips and a broken file, listed in a text file, without labels."""
    folder = module_folder("to-score")
    for name in ("0.flac", "3.flac", "5.flac", "8.flac", "13.flac"):
        shutil.copy(tiny_corpus / name, folder / name)
    (folder / "broken.wav").write_text("not audio")
    names = ["0.flac", "3.flac", "# a comment", "", "5.flac", "8.flac", "13.flac", "broken.wav"]
    (folder / "list.txt").write_text("\n".join(names) + "\n")
    return folder / "list.txt"


def _rows(run: Path) -> dict[str, dict]:
    with (run / "predictions.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert len({row["file"] for row in rows}) == len(rows)  # every file once
    return {Path(row["file"]).name: row for row in rows}


@pytest.mark.slow
def test_predict_scores_a_file_list_as_detect_does(
    fitted: Path, file_list: Path, tiny_corpus: Path
):
    args = [*small_run_args(tiny_corpus, fitted, 4), f"--data.root={file_list}"]
    run_cli(["predict", CONFIG, *args])
    run = fitted / "lstm" / "version_0"
    rows = _rows(run)
    assert set(rows) == {"0.flac", "3.flac", "5.flac", "8.flac", "13.flac", "broken.wav"}
    assert "cannot read audio" in rows["broken.wav"]["error"]
    detector = AudioDetector.load(run / "checkpoints" / "best.ckpt", device="cpu")
    for name, row in rows.items():
        if name == "broken.wav":
            continue
        detection = detector.detect_file(file_list.parent / name)
        assert float(row["score"]) == pytest.approx(detection.score, abs=1e-5)
        assert row["prediction"] == detection.prediction
        assert int(row["windows"]) == len(detection.windows)


@pytest.mark.slow
def test_predict_scores_every_clip_of_a_labelled_corpus(fitted: Path, tiny_corpus: Path):
    run_cli(["predict", CONFIG, *small_run_args(tiny_corpus, fitted, 4)])
    rows = _rows(fitted / "lstm" / "version_0")
    assert len(rows) == 24  # every clip, whatever its split


@pytest.mark.slow
def test_unlabelled_files_cannot_train(file_list: Path, tmp_path: Path):
    args = [*small_run_args(file_list, tmp_path), "--trainer.fast_dev_run=true"]
    with pytest.raises(ValueError, match="unlabelled files can only be scored"):
        run_cli(["fit", CONFIG, *args])


@pytest.mark.slow
def test_two_ddp_processes_score_each_file_once_as_one_process_does(
    fitted: Path, file_list: Path, tiny_corpus: Path
):
    args = [*small_run_args(tiny_corpus, fitted, 4), f"--data.root={file_list}"]
    args = [arg for arg in args if "devices" not in arg]
    run_cli(["predict", CONFIG, *args, "--trainer.devices=1"])  # one process: this one
    one_process = _rows(fitted / "lstm" / "version_0")
    ddp = ["--trainer.devices=2", "--trainer.strategy=ddp"]
    shared = run_cli_process(["predict", CONFIG, *args, *ddp])
    assert shared.returncode == 0, shared.stderr[-3000:]
    two_processes = _rows(fitted / "lstm" / "version_0")
    assert one_process.keys() == two_processes.keys()
    for name, row in one_process.items():
        assert two_processes[name]["windows"] == row["windows"]
        assert two_processes[name]["error"] == row["error"]
        if row["score"]:
            assert float(two_processes[name]["score"]) == pytest.approx(
                float(row["score"]), abs=1e-5
            )
    assert not list((fitted / "lstm" / "version_0").glob(".predictions.rank*"))  # merged
