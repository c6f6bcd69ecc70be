"""``deepfake robustness RUN [RUN ...]``: EER under recording conditions no training clip had.

    deepfake robustness lightning_logs/best/version_0 --conditions clean telephone noise:20
    deepfake robustness models/best --splits lightning_logs/best/version_0/splits.csv
    deepfake robustness FOLD_1 FOLD_2 FOLD_3 FOLD_4 --out lightning_logs/robustness/folds

RUN is a run folder (its best checkpoint and its ``splits.csv``), a checkpoint inside one, or
any checkpoint or package with ``--splits``. Several runs (the folds of a leave-one-out or
cross-validation table) each score their own split, and the table pools their clips: one EER
over every clip, each scored by its own run's model, and TPR/TNR at each model's threshold.

Each clip of the split (both classes alike) is degraded by each condition, then scored exactly
as ``deepfake detect`` scores a file (all windows, mean). Conditions are seeded per clip, so a
table is reproducible. Writes ``robustness.md`` and ``robustness.csv`` beside the splits file
(``--out`` for several runs), and every clip's score under every condition in
``robustness_scores.csv``.

Conditions: ``clean``; ``telephone`` (resampled through 8 kHz: the 0-4 kHz band);
``mulaw`` (telephone plus 8-bit mu-law, as G.711); ``noise:SNR`` (white noise at SNR dB);
``reverb:RT60`` (a synthetic room with that reverberation time in seconds, its tail at its
natural level, far above the direct path) and ``reverb:RT60:DRR`` (the same room with that
direct-to-reverberant ratio in dB: a nearer talker).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from deepfake_audio.audio import SAMPLE_RATE
from deepfake_audio.console import command_parser
from deepfake_audio.data.augment import BandLimit, Codec, Reverb, WhiteNoise
from deepfake_audio.data.corpus import BONA_FIDE, LABEL_NAMES, Clip, index_manifest
from deepfake_audio.errors import UserError
from deepfake_audio.evaluate.scores import auroc, eer_threshold
from deepfake_audio.files import atomic_write, atomic_write_text
from deepfake_audio.runs import RunFolder
from deepfake_audio.serve.scoring import WindowedDetector

DEFAULT_CONDITIONS = (
    "clean",
    "telephone",
    "mulaw",
    "noise:30",
    "noise:20",
    "noise:10",
    "reverb:0.5",
    "reverb:0.5:0",
)
Condition = Callable[[torch.Tensor], torch.Tensor]


def condition(name: str) -> Condition:
    """The degradation a condition name stands for; a clear error for an unknown one."""
    kind, _, value = name.partition(":")
    if kind in ("clean", "telephone", "mulaw") and not value:
        chain = {
            "clean": [],
            "telephone": [BandLimit(rates=[8000], p=1.0)],
            "mulaw": [BandLimit(rates=[8000], p=1.0), Codec(min_bits=8, max_bits=8, p=1.0)],
        }[kind]
        return torch.nn.Sequential(*chain)
    try:
        numbers = [float(number) for number in value.split(":")]
    except ValueError:
        numbers = []
    if kind == "noise" and len(numbers) == 1:
        return WhiteNoise(min_snr_db=numbers[0], max_snr_db=numbers[0], p=1.0)
    if kind == "reverb" and len(numbers) in (1, 2) and numbers[0] > 0:
        rt60, drr_db = numbers[0], numbers[1] if len(numbers) == 2 else None
        return Reverb(rt60, rt60, min_drr_db=drr_db, max_drr_db=drr_db, p=1.0)
    raise ValueError(
        f"unknown condition {name!r}: use clean, telephone, mulaw, noise:SNR_DB, "
        "reverb:RT60_SECONDS or reverb:RT60_SECONDS:DRR_DB (e.g. noise:20, reverb:0.5:0)"
    )


def read_split(path: Path, split: str) -> list[Clip]:
    """The clips of one split of a run's ``splits.csv`` (a manifest)."""
    clips = [clip for clip in index_manifest(path) if clip.split == split]
    if not clips:
        raise UserError(f"{path} has no clips in split {split!r}")
    return clips


def score_clips(
    detector: WindowedDetector,
    model: str,
    clips: Sequence[Clip],
    conditions: dict[str, Condition],
    seed: int = 0,
) -> list[dict]:
    """One row per clip and condition: the clip's score under it by ``detector`` (named
    ``model``) and whether the model, at its threshold, calls it bona fide."""
    waves = [detector.read(clip.path) for clip in clips]
    rows = []
    for name, degrade in conditions.items():
        for index, (clip, wave) in enumerate(zip(clips, waves, strict=True)):
            with torch.random.fork_rng():
                torch.manual_seed(seed + index)  # the same noise for a clip in every run
                degraded = degrade(wave)
            score = detector.detect_wave(degraded, str(clip.path)).score
            rows.append(
                {
                    "model": model,
                    "file": str(clip.path),
                    "label": LABEL_NAMES[clip.label],
                    "condition": name,
                    "score": score,
                    "bona_fide_called": int(score >= detector.threshold),
                }
            )
    return rows


def summarise(clip_rows: Sequence[dict]) -> list[dict]:
    """One row per condition, in the order first met: EER and AUROC over all its clips, and
    TPR/TNR from each clip's call at its own model's threshold."""
    rows = []
    for name in dict.fromkeys(row["condition"] for row in clip_rows):
        members = [row for row in clip_rows if row["condition"] == name]
        scores = [row["score"] for row in members]
        labels = [int(row["label"] == LABEL_NAMES[BONA_FIDE]) for row in members]
        called = [row["bona_fide_called"] for row in members]
        bona = [call for call, label in zip(called, labels, strict=True) if label]
        spoof = [1 - call for call, label in zip(called, labels, strict=True) if not label]
        rows.append(
            {
                "condition": name,
                "eer": eer_threshold(scores, labels)[0],
                "auroc": auroc(scores, labels),
                "tpr": sum(bona) / len(bona) if bona else float("nan"),
                "tnr": sum(spoof) / len(spoof) if spoof else float("nan"),
                "clips": len(members),
            }
        )
    return rows


def _write_csv(path: Path, rows: Sequence[dict]) -> None:
    with atomic_write(path, newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_tables(clip_rows: Sequence[dict], thresholds: dict[str, float], out: Path) -> str:
    """``robustness.csv``, ``robustness.md`` and ``robustness_scores.csv`` (``clip_rows``) in
    ``out``; ``thresholds`` maps each model to its threshold. Returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summarise(clip_rows)
    _write_csv(out / "robustness.csv", rows)
    _write_csv(out / "robustness_scores.csv", clip_rows)
    models = [f"`{model}` (threshold {threshold:.3f})" for model, threshold in thresholds.items()]
    header = [f"Model {models[0]}; TPR/TNR at its threshold."]
    if len(models) > 1:
        header = [
            f"{len(models)} models pooled, each scoring its own clips; TPR/TNR at each clip's "
            "model's threshold:",
            *(f"- {model}" for model in models),
        ]
    table = [
        *header,
        "",
        "| Condition | EER | AUROC | TPR | TNR | Clips |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| {row['condition']} | {100 * row['eer']:.1f}% | {row['auroc']:.3f} | "
        f"{100 * row['tpr']:.1f}% | {100 * row['tnr']:.1f}% | {row['clips']} |"
        for row in rows
    ]
    markdown = "\n".join(table) + "\n"
    atomic_write_text(out / "robustness.md", markdown)
    return markdown


def _model_and_splits(path: Path, splits: Path | None) -> tuple[Path, Path]:
    """A run argument's model (a run folder's best checkpoint) and the splits file it scores."""
    run = RunFolder.of(path)
    model = run.checkpoint() if run.checkpoint().is_file() and path.is_dir() else path
    return model, splits or run.splits


def _refuse_shared_clips(
    parser: argparse.ArgumentParser,
    runs: Sequence[tuple[Path, Path]],
    split_clips: Sequence[Sequence[Clip]],
    split: str,
) -> None:
    """Pooled runs must score disjoint clips: a clip in two runs' splits would count twice."""
    owner: dict[Path, Path] = {}
    for (_, splits), clips in zip(runs, split_clips, strict=True):
        for clip in clips:
            if clip.path in owner:
                parser.error(
                    f"{clip.path} is in the {split} split of both {owner[clip.path]} and "
                    f"{splits}: pooled runs must score different clips"
                )
            owner[clip.path] = splits


def main(args: list[str]) -> int:
    parser = command_parser("deepfake robustness", __doc__.splitlines()[0])
    parser.add_argument(
        "models",
        type=Path,
        nargs="+",
        metavar="model",
        help="a run folder, a checkpoint (.ckpt) or an exported package; several are pooled",
    )
    parser.add_argument("--splits", type=Path, help="a run's splits.csv (default: the run's)")
    parser.add_argument("--split", default="test", help="which split to score (default: test)")
    parser.add_argument("--conditions", nargs="+", default=list(DEFAULT_CONDITIONS))
    parser.add_argument("--seed", type=int, default=0, help="seeds each clip's degradation")
    parser.add_argument(
        "--out", type=Path, help="default: the folder of the splits file (one model only)"
    )
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    options = parser.parse_args(args)
    try:
        conditions = {name: condition(name) for name in options.conditions}
    except ValueError as error:
        parser.error(str(error))
    several = len(options.models) > 1
    if several and options.splits:
        parser.error("--splits names one model's clips: give one model with it")
    if several and not options.out:
        parser.error(f"{len(options.models)} models are pooled: name the tables' folder with --out")
    runs = [_model_and_splits(path, options.splits) for path in options.models]
    for model, splits in runs:
        if not model.exists():
            parser.error(f"{model}: no such run, checkpoint or package")
        if not splits.is_file():
            parser.error(f"{splits}: no such splits file (give a run's with --splits)")
    split_clips = [read_split(splits, options.split) for _, splits in runs]
    _refuse_shared_clips(parser, runs, split_clips, options.split)

    from deepfake_audio.serve.inference import AudioDetector

    clip_rows, thresholds = [], {}
    for (model, _), clips in zip(runs, split_clips, strict=True):
        detector = AudioDetector.load(model, device=options.device)
        if detector.spec.sample_rate != SAMPLE_RATE:
            parser.error(
                f"{model}: the conditions are made at {SAMPLE_RATE} Hz; this model reads "
                f"{detector.spec.sample_rate} Hz"
            )
        thresholds[str(model)] = detector.threshold
        clip_rows += score_clips(detector, str(model), clips, conditions, options.seed)
    out = options.out or runs[0][1].parent
    print(write_tables(clip_rows, thresholds, out))
    return 0
