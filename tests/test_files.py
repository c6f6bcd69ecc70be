"""Atomic writes, run records and reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.files import atomic_write, atomic_write_text


def test_atomic_write_replaces_only_on_success(tmp_path: Path):
    target = tmp_path / "scores.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
    with atomic_write(target) as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n"


@pytest.mark.slow
def test_same_seed_and_config_give_identical_results_and_a_run_record(
    tiny_corpus: Path, tmp_path: Path
):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    outcomes = []
    for name in ("first", "second"):
        args = [*small_run_args(tiny_corpus, tmp_path / name, batch_size=4)]
        run_cli(["fit", config, *args, "--trainer.max_epochs=2", "--trainer.deterministic=true"])
        run_cli(["test", config, *args])
        run_dir = tmp_path / name / "lstm" / "version_0"
        outcomes.append(run_dir)
    first, second = outcomes
    assert (first / "scores.csv").read_text().replace(str(tmp_path / "first"), "") == (
        second / "scores.csv"
    ).read_text().replace(str(tmp_path / "second"), "")
    metrics = [json.loads((d / "metrics.json").read_text()) for d in outcomes]
    assert metrics[0]["eer"] == metrics[1]["eer"]
    assert metrics[0]["at_0.5"] == metrics[1]["at_0.5"]

    record = json.loads((first / "environment.json").read_text())
    assert record["packages"]["torch"] and record["packages"]["lightning"]
    assert "git_commit" in record and record["command"]
    assert (first / "config.yaml").is_file() and (first / "environment-test.json").is_file()
