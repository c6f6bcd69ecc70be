"""deepfake compare, deepfake eda and the TensorBoard figures, on tiny runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, run_cli, small_run_args
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from deepfake_audio.errors import UserError

QUICK = ["--trainer.limit_train_batches=2"]


def _png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert path.stat().st_size > 5000, path


@pytest.mark.slow
def test_compare_trains_configs_and_tabulates_them(tiny_corpus: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    configs = [str(CONFIG_DIR / f"{name}.yaml") for name in ("lstm", "gnn")]
    extra = [
        *small_run_args(tiny_corpus, tmp_path / "runs", batch_size=4),
        *QUICK,
        "--trainer.max_epochs=1",
    ]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["compare", "--configs", *configs, "--seeds", "2", "--out", "out", "--", *extra])
    assert exit_info.value.code == 0
    out = tmp_path / "out"
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["model"] for row in rows] == ["lstm", "lstm", "gnn", "gnn"]
    for row in rows:
        metrics = json.loads((Path(row["run"]) / "metrics.json").read_text())
        assert float(row["eer"]) == pytest.approx(metrics["eer"])
        assert float(row["accuracy"]) == pytest.approx(metrics["at_0.5"]["acc"])
        assert int(row["parameters"]) > 0 and float(row["clips_per_second"]) > 0
    table = (out / "results.md").read_text()
    assert "| Model | Runs | Accuracy | F1 | TPR | TNR | EER | AUROC |" in table
    assert "| lstm | 2 |" in table and "±" in table
    for name in ("roc.png", "det.png", "confusion.png", "score_histograms.png"):
        _png(out / name)

    # Collecting the finished runs gives the same table.
    runs = [row["run"] for row in rows]
    with pytest.raises(SystemExit):
        run_cli(["compare", "--runs", *runs, "--out", "again"])
    assert (tmp_path / "again" / "results.csv").read_text() == (out / "results.csv").read_text()


def test_compare_rejects_a_run_without_a_test_report(tmp_path: Path):
    with pytest.raises(UserError, match="no metrics.json"):
        run_cli(["compare", "--runs", str(tmp_path)])


@pytest.mark.slow
def test_tensorboard_gets_validation_figures_and_hparams(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    two_epochs = [*QUICK, "--trainer.max_epochs=2"]
    run_cli(["fit", config, *small_run_args(tiny_corpus, tmp_path, batch_size=4), *two_epochs])
    events = EventAccumulator(str(tmp_path / "lstm" / "version_0")).Reload()
    images = events.Tags()["images"]
    assert {"val/roc", "val/confusion", "val/examples"} <= set(images)
    assert len(events.Images("val/roc")) == 2  # one per epoch
    assert len(events.Images("val/examples")) == 1  # the same clips every epoch: shown once
    assert "hp/best_val_eer" in events.Tags()["scalars"]


@pytest.mark.slow
def test_eda_writes_plots_and_summary(tiny_corpus: Path, tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["eda", f"--data.root={tiny_corpus}", f"--out={tmp_path}", "--workers=0"])
    assert exit_info.value.code == 0
    for name in ("duration.png", "amplitude.png", "centroid.png"):
        _png(tmp_path / name)
    with (tmp_path / "summary.csv").open() as handle:
        summary = {row[0]: row[1:] for row in csv.reader(handle)}
    assert summary["clips"] == ["12", "12", "24"]
    assert summary["sample rates (Hz: clips)"][2] == "16000: 24"
    assert len((tmp_path / "clips.csv").read_text().splitlines()) == 25
    assert "duration mean (s)" in capsys.readouterr().out
