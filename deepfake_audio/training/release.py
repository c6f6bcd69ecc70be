"""``make release-model``: train a committed config, test it, and install its package as a
built-in model (``deepfake_audio/serve/builtin/NAME``), its card recording the command, the
commit, the data and the measured figures.

    python -m deepfake_audio.training.release --config configs/best.yaml --name default \\
        [--notes results/recipe.md] [--run RUN] -- --data.root '[DEVSET_A, DEVSET_B]'

Arguments after ``--`` go to the fit and the test. ``--run`` installs a run folder of the same
config that was already fitted and tested instead of training again. The package must stay
under 5 MB.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from deepfake_audio.console import command_parser, split_passed_on
from deepfake_audio.errors import UserError
from deepfake_audio.files import portable, portable_command
from deepfake_audio.runs import RunFolder
from deepfake_audio.serve.builtin import FOLDER
from deepfake_audio.serve.export import export_package
from deepfake_audio.serve.package import CARD
from deepfake_audio.training.compare import tested_run
from deepfake_audio.training.fusion import PACKAGE as FUSED_PACKAGE
from deepfake_audio.training.protocols import train_and_test
from deepfake_audio.training.run_record import git

LIMIT_MB = 5.0


def _described(commit: str | None, dirty: bool | None) -> str:
    return (commit or "unknown")[:7] + (" (with uncommitted changes)" if dirty else "")


def _commit() -> str:
    """The checkout's commit; tracked files only count as changes (the new package is not)."""
    status = git("status", "--porcelain", "--untracked-files=no")
    return _described(git("rev-parse", "HEAD"), bool(status))


def _trained_at(run: RunFolder) -> str:
    recorded = json.loads(run.environment().read_text()) if run.environment().is_file() else {}
    return _described(recorded.get("git_commit"), recorded.get("git_dirty"))


def release(
    config: Path,
    name: str,
    extra: list[str],
    notes: Path | None,
    seed: int,
    command: str,
    trained: Path | None = None,
) -> Path:
    """Fit, test and export ``config`` (or export the run folder ``trained`` of it); install
    the package as built-in model ``name``. A fusion recipe's run installs its fused package."""
    run = tested_run(trained if trained is not None else train_and_test(config, seed, extra))
    staging = Path(tempfile.mkdtemp(prefix="release-")) / name
    if (run.path / FUSED_PACKAGE).is_dir():
        shutil.copytree(run.path / FUSED_PACKAGE, staging)
    else:
        export_package(run.checkpoint(), staging)
    size = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file()) / 2**20
    if size > LIMIT_MB:
        raise UserError(f"the package of {config} is {size:.1f} MB, over {LIMIT_MB:g} MB")
    card = staging / CARD
    lines = [
        "",
        "## Release",
        f"- built by `{command}` at commit {_commit()}, config `{portable(config)}`, seed {seed}",
        f"- training run: {run.label} ({size:.1f} MB package), trained at commit "
        f"{_trained_at(run)}",
    ]
    if notes is not None:
        lines += ["", notes.read_text().strip()]
    card.write_text(card.read_text() + "\n".join(lines) + "\n")
    target = FOLDER / name
    shutil.rmtree(target, ignore_errors=True)
    FOLDER.mkdir(parents=True, exist_ok=True)
    shutil.move(str(staging), target)
    return target


def main(args: list[str]) -> int:
    own, extra = split_passed_on(args)
    parser = command_parser("python -m deepfake_audio.training.release", __doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--name", default="default", help="the built-in model's name")
    parser.add_argument("--notes", type=Path, help="markdown appended to the model card")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--run", type=Path, help="a fitted and tested run folder of --config")
    options = parser.parse_args(own)
    shown = portable_command(args)
    command = shlex.join(["python", "-m", "deepfake_audio.training.release", *shown])
    target = release(
        options.config, options.name, extra, options.notes, options.seed, command, options.run
    )
    print(f"built-in model {options.name!r}: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
