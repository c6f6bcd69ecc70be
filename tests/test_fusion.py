"""Learnt score fusion: a fusion recipe fits its members on one split (reusing tested fits),
learns their weights on the validation windows, and its package scores files with both
backends and in the app as the fused formula says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONFIG_DIR, FUSIONS, needs_whisper, run_cli

from deepfake_audio.errors import UserError
from deepfake_audio.evaluate.scores import read_scores
from deepfake_audio.runs import RunFolder
from deepfake_audio.serve.app import analyse
from deepfake_audio.serve.fusion import FusedDetector, load_detector, logits, read_fusion
from deepfake_audio.training import protocols, release
from deepfake_audio.training.fusion import PACKAGE, fuse_runs

pytestmark = needs_whisper


def _options(corpus: Path, root: Path) -> list[str]:
    """Options both members take; each keeps its own window (see :func:`_whisper_member`)."""
    return [
        f"--data.root={corpus}", "--data.batch_size=4", "--data.num_workers=0",
        f"--trainer.default_root_dir={root / 'runs'}", "--trainer.accelerator=cpu",
        "--trainer.devices=1", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--trainer.max_epochs=2",
    ]  # fmt: skip


def _whisper_member(folder: Path) -> Path:
    """``whisper_linear.yaml`` on tiny.en with 1 s windows (50 encoder frames): shorter than
    the LSTM's 6.4 s, and quick to encode."""
    config = yaml.safe_load((CONFIG_DIR / "whisper_linear.yaml").read_text())
    features = config["data"]["init_args"]["features"]["init_args"]
    features.update(model="tiny.en", frames=50, train_hop=50)
    path = folder / "whisper_linear.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def fused_run(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> Path:
    root = module_folder("fusion")
    recipe = root / "pair.yaml"
    # The longer window (LSTM's) second: the fusion takes the longest, not the first.
    members = [str(_whisper_member(root)), str(CONFIG_DIR / "lstm.yaml")]
    recipe.write_text(yaml.safe_dump({"fusion": {"members": members}}))
    options = _options(tiny_corpus, root)
    other_split = [*options, "--data.seed=7"]  # a tested run of another split, not reused
    run_cli(["fit", f"--config={members[1]}", *other_split])
    run_cli(["test", f"--config={members[1]}", *other_split])
    with pytest.raises(SystemExit) as done:
        run_cli(["fuse", "--config", str(recipe), "--", *options])
    assert done.value.code == 0
    return root


@pytest.mark.slow
def test_a_recipe_fits_its_members_on_one_split_and_fuses_them(fused_run: Path):
    runs = fused_run / "runs"
    fused = RunFolder(runs / "pair" / "version_0")
    members = [RunFolder(runs / name / "version_1") for name in ("lstm",)] + [
        RunFolder(runs / "whisper_linear" / "version_0")
    ]
    for member in members:  # fitted and tested for the fusion, with a record of how
        assert member.metrics.is_file() and member.protocol.is_file()
    assert fused.splits.read_text() == members[0].splits.read_text()
    metrics = json.loads(fused.metrics.read_text())
    scored = read_scores(fused.scores)
    tested = [row for row in fused.splits.read_text().splitlines() if ",test," in row]
    assert metrics["clips"] == len(scored) == len(tested) and 0 <= metrics["eer"] <= 1
    fusion = read_fusion(fused.path / PACKAGE)
    assert len(fusion.weights) == 2 and fusion.weights != (0.5, 0.5)  # learnt, not averaged
    whisper, lstm = (load_detector(fused.path / PACKAGE / name) for name in fusion.members)
    assert fusion.window_samples == lstm.window > whisper.window  # the longer of the two


@pytest.mark.slow
def test_a_second_fusion_reuses_the_tested_members(fused_run: Path, tiny_corpus: Path):
    runs = fused_run / "runs"
    before = sorted(p.name for p in (runs / "lstm").iterdir())
    first = RunFolder(runs / "pair" / "version_0")
    again = fuse_runs(
        [runs / "whisper_linear" / "version_0", runs / "lstm" / "version_1"],
        RunFolder(fused_run / "again"),
    )
    assert sorted(p.name for p in (runs / "lstm").iterdir()) == before
    assert read_fusion(again.path / PACKAGE).weights == pytest.approx(
        read_fusion(first.path / PACKAGE).weights
    )
    with pytest.raises(UserError, match="not made on the same split"):
        fuse_runs(
            [runs / "whisper_linear" / "version_0", runs / "lstm" / "version_0"],
            RunFolder(fused_run / "mismatched"),
        )


@pytest.mark.slow
def test_a_protocol_reuses_a_fusion_made_with_the_same_settings(fused_run: Path, tiny_corpus: Path):
    options, recipe = _options(tiny_corpus, fused_run), fused_run / "pair.yaml"
    fused = Path(protocols.train_and_test(recipe, 42, options, reuse=True))
    assert json.loads(RunFolder(fused).protocol.read_text())["config"] == "pair.yaml"
    assert Path(protocols.train_and_test(recipe, 42, options, reuse=True)) == fused
    other = Path(protocols.train_and_test(recipe, 42, [*options, "--data.seed=7"], reuse=True))
    assert other != fused  # another split: fused anew


@pytest.mark.slow
def test_the_fused_package_scores_as_its_formula_with_both_backends(
    fused_run: Path, tiny_corpus: Path
):
    package = fused_run / "runs" / "pair" / "version_0" / PACKAGE
    clip = tiny_corpus / "0.flac"
    with_torch = load_detector(package, device="cpu")
    with_onnx = load_detector(package, "onnx")
    assert isinstance(with_torch, FusedDetector) and isinstance(with_onnx, FusedDetector)
    torch_detection = with_torch.detect_file(clip)
    onnx_detection = with_onnx.detect_file(clip)
    assert onnx_detection.windows == pytest.approx(torch_detection.windows, abs=2e-3)
    fusion = read_fusion(package)
    seconds = fusion.window_samples / 16_000  # every member scores the fusion's windows
    members = [load_detector(package / name, device="cpu") for name in fusion.members]
    member_windows = np.stack(
        [m.detect_file(clip, window_seconds=seconds).windows for m in members], axis=1
    )
    z = logits(member_windows) @ np.asarray(fusion.weights) + fusion.bias
    assert torch_detection.windows == pytest.approx((1 / (1 + np.exp(-z))).tolist(), abs=1e-6)
    assert torch_detection.prediction == (
        "bona-fide" if torch_detection.score >= fusion.threshold else "spoof"
    )
    with pytest.raises(SystemExit) as done:
        run_cli(["detect", str(package), str(clip), "--backend", "onnx"])
    assert done.value.code == 0


@pytest.mark.slow
def test_the_app_explains_a_fused_model(fused_run: Path, tiny_corpus: Path):
    package = fused_run / "runs" / "pair" / "version_0" / PACKAGE
    verdict, windows, spectrogram = analyse(
        load_detector(package, device="cpu"), tiny_corpus / "0.flac", 6.0
    )
    assert "The model fuses the scores of 2 models: (1) reads" in verdict
    assert windows is not None and spectrogram.axes[0].images


@pytest.mark.slow
@pytest.mark.parametrize("recipe", FUSIONS, ids=[path.stem for path in FUSIONS])
def test_every_fusion_recipe_fits_fuses_and_tests(recipe: Path, tiny_corpus: Path, tmp_path: Path):
    shrunk = [  # options every member takes: the members keep their own windows
        f"--data.root={tiny_corpus}", "--data.batch_size=4", "--data.num_workers=0",
        f"--trainer.default_root_dir={tmp_path}", "--trainer.accelerator=cpu",
        "--trainer.devices=1", "--trainer.enable_progress_bar=false", "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2", "--trainer.log_every_n_steps=1",
    ]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        run_cli(["fuse", "--config", str(recipe), "--", *shrunk])
    assert done.value.code == 0
    run = RunFolder(tmp_path / recipe.stem / "version_0")
    metrics = json.loads(run.metrics.read_text())
    assert metrics["clips"] == 6 and 0 <= metrics["eer"] <= 1
    members = yaml.safe_load(recipe.read_text())["fusion"]["members"]
    assert len(read_fusion(run.path / PACKAGE).weights) == len(members)


@pytest.mark.slow
def test_a_fused_run_installs_as_a_builtin_model(
    fused_run: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch
):
    installed = fused_run / "builtin"
    monkeypatch.setattr(release, "FOLDER", installed)
    run = fused_run / "runs" / "pair" / "version_0"
    release.main(["--config", str(fused_run / "pair.yaml"), "--name", "pair", "--run", str(run)])
    model = load_detector(installed / "pair", device="cpu")
    assert isinstance(model, FusedDetector)
    assert model.detect_file(tiny_corpus / "0.flac").score == pytest.approx(
        load_detector(run / PACKAGE, device="cpu").detect_file(tiny_corpus / "0.flac").score
    )
    assert "## Release" in (installed / "pair" / "README.md").read_text()
