"""Mistakes end in one line, ``deepfake <command>: error: <what>``, exit status 2 and no
traceback (each mistake through the entry point in this process, one through the real console
script); --traceback (or DEEPFAKE_DEBUG=1) shows the trace."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from conftest import CONFIG_DIR, REPO, small_run_args

from deepfake_audio.cli import main

SCRIPT = Path(sys.executable).with_name("deepfake")  # the console script of this install
LSTM = str(CONFIG_DIR / "lstm.yaml")


def deepfake(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "deepfake_audio.cli"]
    environment = {k: v for k, v in os.environ.items() if k != "DEEPFAKE_DEBUG"}
    environment.update({"OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run(
        [*command, *args], cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def places(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> dict[str, Path]:
    root = module_folder("mistakes")
    (root / "empty").mkdir()
    (root / "existing").mkdir()
    (root / "notes.ckpt").write_text("not a checkpoint\n")
    return {"root": root, "corpus": tiny_corpus}


MISTAKES = {  # name -> (arguments, what the line must say)
    "detect, missing checkpoint": (
        lambda p: ["detect", str(p["root"] / "missing.ckpt"), str(p["corpus"] / "0.flac")],
        r"deepfake detect: error: .*missing.ckpt: no such checkpoint or model package",
    ),
    "detect, unreadable model": (
        lambda p: ["detect", str(p["root"] / "notes.ckpt"), str(p["corpus"] / "0.flac")],
        r"deepfake detect: error: .*notes.ckpt: not a readable checkpoint",
    ),
    "test, missing --ckpt_path": (
        lambda p: ["test", f"--config={LSTM}", f"--ckpt_path={p['root'] / 'gone.ckpt'}"],
        r"deepfake test: error: .*gone.ckpt: no such checkpoint \(--ckpt_path\)",
    ),
    "fit, missing corpus": (
        lambda p: (
            ["fit", f"--config={LSTM}", "--data.root=/nonexistent/corpus"]
            + [f"--trainer.default_root_dir={p['root']}", "--trainer.fast_dev_run=true"]
        ),
        r"deepfake fit: error: /nonexistent/corpus: no such file or folder",
    ),
    "fit, misspelt config key": (
        lambda p: ["fit", f"--config={LSTM}", "--data.init_args.bacth_size=4"],
        r"deepfake fit: error: --data: Option 'bacth_size' is not accepted",
    ),
    "data check, empty folder": (
        lambda p: ["data", "check", f"--data.root={p['root'] / 'empty'}"],
        r"deepfake data check: error: .*empty: no known corpus layout",
    ),
    "eda, empty folder": (
        lambda p: ["eda", f"--data.root={p['root'] / 'empty'}", f"--out={p['root'] / 'eda'}"],
        r"deepfake eda: error: .*empty: no known corpus layout",
    ),
    "export, existing folder": (
        lambda p: ["export", "--ckpt", str(p["ckpt"]), "--out", str(p["root"] / "existing")],
        r"deepfake export: error: .*existing exists; choose a new folder",
    ),
    "serve, missing model": (
        lambda p: ["serve", "--model", str(p["root"] / "nothing")],
        r"deepfake serve: error: cannot load .*nothing",
    ),
    "unknown subcommand": (
        lambda p: ["tarin"],
        r"deepfake tarin: error: unknown subcommand 'tarin'",
    ),
}


@pytest.fixture(scope="module")
def with_checkpoint(places: dict, lstm_checkpoint: Path) -> dict:
    return {**places, "ckpt": lstm_checkpoint}


def _one_line(code: int | str | None, out: str, err: str, line: str) -> None:
    """The run ended with status 2 and one line matching ``line``, without a traceback."""
    assert code == 2, (out + err)[-2000:]
    assert "Traceback" not in out + err, (out + err)[-2000:]
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(line + ".*", last), last


@pytest.mark.slow
@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_ends_in_one_line_and_status_2(
    with_checkpoint: dict, mistake: str, capfd: pytest.CaptureFixture
):
    arguments, line = MISTAKES[mistake]
    environment = {k: v for k, v in os.environ.items() if k != "DEEPFAKE_DEBUG"}
    with (
        mock.patch.object(sys, "argv", ["deepfake"]),
        mock.patch.dict(os.environ, environment, clear=True),
        pytest.raises(SystemExit) as exit_info,  # anything else escaping is a traceback
    ):
        main(arguments(with_checkpoint))
    _one_line(exit_info.value.code, *capfd.readouterr(), line)


@pytest.mark.slow
def test_the_console_script_ends_a_mistake_in_one_line_and_status_2(places: dict):
    arguments, line = MISTAKES["detect, missing checkpoint"]
    done = deepfake(arguments(places))
    _one_line(done.returncode, done.stdout, done.stderr, line)


@pytest.mark.slow
@pytest.mark.parametrize("how", [["--traceback"], "DEEPFAKE_DEBUG"])
def test_the_whole_trace_on_request(places: dict, how):
    args = ["detect", str(places["root"] / "missing.ckpt"), str(places["corpus"] / "0.flac")]
    if how == "DEEPFAKE_DEBUG":
        done = deepfake(args, env={"DEEPFAKE_DEBUG": "1"})
    else:
        done = deepfake([*args, *how])
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "FileNotFoundError" in done.stderr


@pytest.mark.slow
def test_a_good_run_prints_no_traceback_or_vendor_tip(tiny_corpus: Path, tmp_path: Path):
    done = deepfake(
        [
            "fit",
            f"--config={LSTM}",
            *small_run_args(tiny_corpus, tmp_path),
            "--trainer.fast_dev_run=true",
        ]
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "litlogger" not in output and "FutureWarning" not in output
