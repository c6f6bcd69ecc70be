"""``deepfake robustness RUN``: EER under recording conditions no training clip had.

    deepfake robustness lightning_logs/best/version_0 --conditions clean telephone noise:20
    deepfake robustness models/best --splits lightning_logs/best/version_0/splits.csv

RUN is a run folder (its best checkpoint and its ``splits.csv``), a checkpoint inside one, or
any checkpoint or package with ``--splits``.

Each clip of the split (both classes alike) is degraded by each condition, then scored exactly
as ``deepfake detect`` scores a file (all windows, mean). Conditions are seeded per clip, so a
table is reproducible. Writes ``robustness.md`` and ``robustness.csv`` beside the splits file.

Conditions: ``clean``; ``telephone`` (resampled through 8 kHz: the 0-4 kHz band);
``mulaw`` (telephone plus 8-bit mu-law, as G.711); ``noise:SNR`` (white noise at SNR dB);
``reverb:RT60`` (a synthetic room with that reverberation time in seconds, its tail at its
natural level, far above the direct path) and ``reverb:RT60:DRR`` (the same room with that
direct-to-reverberant ratio in dB: a nearer talker).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from deepfake_audio.audio import SAMPLE_RATE
from deepfake_audio.console import command_parser
from deepfake_audio.data.augment import BandLimit, Codec, Reverb, WhiteNoise
from deepfake_audio.data.corpus import Clip, index_manifest
from deepfake_audio.errors import UserError
from deepfake_audio.evaluate.scores import auroc, eer_threshold, metrics_at
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


def score_conditions(
    detector: WindowedDetector,
    clips: Sequence[Clip],
    conditions: dict[str, Condition],
    seed: int = 0,
) -> list[dict]:
    """One row per condition: EER, AUROC and TPR/TNR at the model's threshold."""
    waves = [detector.read(clip.path) for clip in clips]
    labels = [clip.label for clip in clips]
    rows = []
    for name, degrade in conditions.items():
        scores = []
        for index, wave in enumerate(waves):
            with torch.random.fork_rng():
                torch.manual_seed(seed + index)  # the same noise for a clip in every run
                degraded = degrade(wave)
            scores.append(detector.detect_wave(degraded, str(clips[index].path)).score)
        at_threshold = metrics_at(scores, labels, detector.threshold)
        rows.append(
            {
                "condition": name,
                "eer": eer_threshold(scores, labels)[0],
                "auroc": auroc(scores, labels),
                "tpr": at_threshold["tpr"],
                "tnr": at_threshold["tnr"],
                "clips": len(scores),
            }
        )
    return rows


def write_tables(rows: list[dict], model: Path, threshold: float, out: Path) -> str:
    """``robustness.csv`` and ``robustness.md`` in ``out``; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "robustness.csv", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = [
        f"Model `{model}`; TPR/TNR at its threshold {threshold:.3f}.",
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


def main(args: list[str]) -> int:
    parser = command_parser("deepfake robustness", __doc__.splitlines()[0])
    parser.add_argument(
        "model", type=Path, help="a run folder, a checkpoint (.ckpt) or an exported package"
    )
    parser.add_argument("--splits", type=Path, help="a run's splits.csv (default: the run's)")
    parser.add_argument("--split", default="test", help="which split to score (default: test)")
    parser.add_argument("--conditions", nargs="+", default=list(DEFAULT_CONDITIONS))
    parser.add_argument("--seed", type=int, default=0, help="seeds each clip's degradation")
    parser.add_argument("--out", type=Path, help="default: the folder of the splits file")
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    options = parser.parse_args(args)
    try:
        conditions = {name: condition(name) for name in options.conditions}
    except ValueError as error:
        parser.error(str(error))
    run = RunFolder.of(options.model)
    model = (
        run.checkpoint() if run.checkpoint().is_file() and options.model.is_dir() else options.model
    )
    splits = options.splits or run.splits
    if not splits.is_file():
        parser.error(f"{splits}: no such splits file (give a run's with --splits)")

    from deepfake_audio.serve.inference import AudioDetector

    detector = AudioDetector.load(model, device=options.device)
    if detector.spec.sample_rate != SAMPLE_RATE:
        parser.error(
            f"the conditions are made at {SAMPLE_RATE} Hz; this model reads "
            f"{detector.spec.sample_rate} Hz"
        )
    clips = read_split(splits, options.split)
    rows = score_conditions(detector, clips, conditions, options.seed)
    out = options.out or splits.parent
    print(write_tables(rows, model, detector.threshold, out))
    return 0
