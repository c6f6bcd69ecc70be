"""``deepfake fuse``: learn a score fusion of trained detectors and test it
(:mod:`deepfake_audio.serve.fusion` holds the fused model and its scoring).

    deepfake fuse --config configs/fused.yaml -- --data.root D     # fit and test the members
    deepfake fuse --runs lightning_logs/best/version_0 lightning_logs/whisper_asp/version_0

A fusion recipe is a YAML file with ``fusion: {members: [CONFIG, ...]}``: every member is fitted
and tested with the same options (so on the same split), a fit of the same config, seed and
options that was already tested is reused, and the fusion is learnt on the validation clips:
one logistic regression on the members' window logits (class-balanced, pulled gently towards
their average), its threshold at the fused validation EER. The fused model is then tested on the
members' test clips as ``deepfake detect`` scores files. The run folder
(``<root>/<recipe name>/version_N``) holds the fused package (``package/``), ``scores.csv``,
``metrics.json``, ``splits.csv`` and ``config.yaml`` (the members and the data they share).
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml

from deepfake_audio.console import command_parser, split_passed_on
from deepfake_audio.data.corpus import Clip, index_manifest
from deepfake_audio.errors import UserError
from deepfake_audio.evaluate.report import json_safe, summarise
from deepfake_audio.evaluate.scores import ScoredClip, eer_threshold, write_scores
from deepfake_audio.files import atomic_write_text
from deepfake_audio.models.calibration import fit_logistic
from deepfake_audio.runs import RunFolder
from deepfake_audio.serve.export import export_package
from deepfake_audio.serve.fusion import MEMBERS, FusedDetector, Fusion, logits, write_fusion
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.package import CARD
from deepfake_audio.training.run_record import environment
from deepfake_audio.windows import window_starts

PACKAGE = "package"  # the fused package inside a fused run's folder


def member_configs(config: Path) -> list[Path] | None:
    """The member configs a fusion recipe names (relative to the working directory), or None
    for any other config."""
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or "fusion" not in data:
        return None
    members = (data["fusion"] or {}).get("members") or []
    if len(members) < 2:
        raise UserError(f"{config}: a fusion needs at least two member configs, got {members}")
    return [Path(member) for member in members]


def train_and_fuse(config: Path, seed: int, extra: list[str], reuse: bool = False) -> Path:
    """Fit and test each member of a fusion recipe (reusing identical tested fits), fuse them,
    test the fusion; the fused run's folder."""
    from deepfake_audio.training.protocols import train_and_test

    runs = [train_and_test(member, seed, extra, reuse=True) for member in member_configs(config)]
    root = RunFolder(runs[0]).path.parent.parent  # the members' trainer.default_root_dir
    return fuse_runs(runs, _next_version(root / config.stem)).path


def _next_version(experiment: Path) -> RunFolder:
    versions = [RunFolder(p).version for p in experiment.glob("version_*")]
    number = 1 + max((v for v in versions if v is not None), default=-1)
    return RunFolder(experiment / f"version_{number}")


def _clips(run: RunFolder, split: str) -> list[Clip]:
    return [clip for clip in index_manifest(run.splits) if clip.split == split]


def fuse_runs(runs: list[Path], out: RunFolder) -> RunFolder:
    """Fuse tested runs made on one split into ``out``: the fused package, its test scores and
    metrics."""
    from deepfake_audio.training.compare import tested_run

    members = [tested_run(run) for run in runs]
    if len(members) < 2:
        raise UserError("a fusion needs at least two runs")
    splits = [member.splits.read_text() for member in members]
    if any(text != splits[0] for text in splits[1:]):
        raise UserError(
            "the runs were not made on the same split (their splits.csv differ): fit the members "
            "with the same data options and seed"
        )
    out.path.mkdir(parents=True)
    package = out.path / PACKAGE
    (package / MEMBERS).mkdir(parents=True)
    names = [f"{index}-{member.name}" for index, member in enumerate(members, 1)]
    for member, name in zip(members, names, strict=True):
        export_package(member.checkpoint(), package / MEMBERS / name)
    detectors = [AudioDetector.load(package / MEMBERS / name, device="cpu") for name in names]
    window = max(detector.window for detector in detectors)
    average = (1 / len(names),) * len(names)
    fused = FusedDetector(
        Fusion(tuple(f"{MEMBERS}/{name}" for name in names), average, 0.0, 0.5, window), detectors
    )
    val = _clips(members[0], "val")
    per_clip = [_window_scores(fused, clip) for clip in val]
    labels = np.concatenate(
        [
            np.full(len(scores), float(clip.label))
            for scores, clip in zip(per_clip, val, strict=True)
        ]
    )
    *weights, bias = fit_logistic(
        torch.from_numpy(logits(np.concatenate(per_clip))), torch.from_numpy(labels),
        (*average, 0.0),
    )  # fmt: skip
    fusion = replace(fused.fusion, weights=tuple(weights), bias=bias)
    val_scores = [float(fusion.fused(scores).mean()) for scores in per_clip]
    threshold = eer_threshold(val_scores, [clip.label for clip in val])[1]
    fused.fusion = fusion = replace(fusion, threshold=threshold)
    fused.threshold = threshold
    tested = []
    for clip in _clips(members[0], "test"):
        detection = fused.detect_file(clip.path)
        if detection.error:
            raise UserError(f"{clip.path}: {detection.error}")
        tested.append(
            ScoredClip(
                file=str(clip.path), label=clip.label, score=detection.score,
                speaker=clip.speaker, attack=clip.attack, duration=detection.duration,
                corpus=clip.corpus, source=clip.source, codec=clip.codec,
            )
        )  # fmt: skip
    summary = summarise(tested, threshold)
    fusion = replace(fusion, metadata={"test_metrics": _card_metrics(summary)})
    write_fusion(package, fusion)
    atomic_write_text(package / CARD, fusion_card(fusion, members))
    write_scores(tested, out)
    atomic_write_text(out.metrics, json.dumps(json_safe(summary), indent=2) + "\n")
    atomic_write_text(out.environment(), json.dumps(environment(), indent=2) + "\n")
    shutil.copyfile(members[0].splits, out.splits)
    record = {
        "fusion": {"runs": [m.label for m in members], "weights": weights, "bias": bias,
                   "threshold": threshold},
        "data": members[0].read_config().get("data", {}),
    }  # fmt: skip
    atomic_write_text(out.config(), yaml.safe_dump(json_safe(record), sort_keys=False))
    print(
        f"fused {len(members)} runs: weights {np.round(weights, 3).tolist()}, bias {bias:.3f}; "
        f"test EER {100 * summary['eer']:.1f}% ({summary['clips']} clips); {out.path}"
    )
    return out


def _window_scores(fused: FusedDetector, clip: Clip) -> np.ndarray:
    """Every member's score of every window of a clip (as detect windows it)."""
    wave = fused.read(clip.path)
    starts = window_starts(len(wave), fused.window, fused.window)
    return fused.member_scores(fused.crops(wave, fused.window, starts))


def _card_metrics(summary: dict) -> dict:
    keep = ("clips", "bona_fide", "spoof", "eer", "eer_ci95", "auroc")
    return json_safe({key: summary[key] for key in keep})


def fusion_card(fusion: Fusion, members: list[RunFolder]) -> str:
    """README.md of a fused package."""
    metrics = fusion.metadata.get("test_metrics", {})
    low, high = metrics.get("eer_ci95", [float("nan"), float("nan")])
    lines = [
        "# deepfake-audio detector: a learnt score fusion",
        "",
        f"Scores each {fusion.window_samples / 16_000:g} s window with {len(fusion.members)} "
        "models and fuses their calibrated scores' logits with the weights below (a logistic "
        "regression fitted on the validation windows); a file's score is the mean of its "
        f"windows' fused P(bona fide), bona fide at or above **{fusion.threshold:.4f}** (the "
        "fused validation EER threshold).",
        "",
        "```bash",
        "deepfake detect path/to/this/folder audio.wav",
        "deepfake detect --backend onnx path/to/this/folder audio.wav  # no torch",
        "```",
        "",
        "| member | weight | trained as |",
        "|---|---|---|",
    ]
    for folder, weight, member in zip(fusion.members, fusion.weights, members, strict=True):
        lines.append(f"| `{folder}` | {weight:.3f} | run {member.label} |")
    lines += [f"| bias | {fusion.bias:.3f} | |", ""]
    if metrics:
        lines.append(
            f"Test split of the members ({metrics['clips']} clips): EER "
            f"{100 * metrics['eer']:.2f}% (95% bootstrap CI {100 * low:.2f} to "
            f"{100 * high:.2f}%), AUROC {metrics['auroc']:.3f}."
        )
    lines += ["", "Each member's own card is in its folder."]
    return "\n".join(lines) + "\n"


def main(args: list[str]) -> int:
    own, extra = split_passed_on(args)
    parser = command_parser("deepfake fuse", __doc__.splitlines()[0].strip("`: "))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="a fusion recipe (fusion: {members: [...]})")
    source.add_argument("--runs", nargs="+", type=Path, help="tested runs made on one split")
    parser.add_argument("--seed", type=int, default=42, help="with --config (default 42)")
    parser.add_argument("--out", type=Path, help="with --runs: the fused run's folder")
    options = parser.parse_args(own)
    if options.config is not None:
        if member_configs(options.config) is None:
            parser.error(f"{options.config} is not a fusion recipe (no fusion: members)")
        run = train_and_fuse(options.config, options.seed, extra)
    else:
        out = RunFolder(options.out) if options.out else _next_version(Path("lightning_logs/fused"))
        run = fuse_runs(options.runs, out).path
    print(f"fused model: {RunFolder(run).path / PACKAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
