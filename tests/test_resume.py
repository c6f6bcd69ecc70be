"""A fit killed with SIGKILL mid-epoch resumes from last.ckpt and ends where an uninterrupted
fit with the same seed ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG_DIR, REPO, run_cli, run_cli_process, small_run_args

from deepfake_audio.evaluate.scores import read_scores


@pytest.mark.slow
def test_killed_fit_resumes_to_the_same_result(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    train = ["--trainer.max_epochs=3", "--trainer.deterministic=true"]
    kill = tmp_path / "kill.yaml"
    kill.write_text(
        "trainer:\n  callbacks:\n    - class_path: killer.KillAtStep\n      init_args: {step: 4}\n"
    )
    env = {"PYTHONPATH": str(REPO / "tests")}
    results = {}
    for name in ("uninterrupted", "killed"):
        args = [config, *small_run_args(tiny_corpus, tmp_path / name, batch_size=4), *train]
        if name == "killed":
            # 3 batches per epoch: step 4 is in the middle of the second epoch.
            died = run_cli_process(["fit", *args, f"--config={kill}"], env=env)
            assert died.returncode == -9
            assert (tmp_path / name / "lstm" / "version_0" / "checkpoints" / "last.ckpt").is_file()
            resumed = run_cli_process(["fit", *args, "--ckpt_path=last"], env=env)
            assert resumed.returncode == 0, resumed.stderr[-3000:]
            assert "Restoring states from the checkpoint path" in resumed.stderr
        else:
            done = run_cli_process(["fit", *args], env=env)
            assert done.returncode == 0, done.stderr[-3000:]
        last = sorted((tmp_path / name / "lstm").glob("version_*"))[-1]
        run_cli(["test", *args[:-2], f"--ckpt_path={last}/checkpoints/last.ckpt"])
        results[name] = [(Path(c.file).name, c.score) for c in read_scores(last / "scores.csv")]
    assert results["killed"] == results["uninterrupted"]  # every score, to the last bit
