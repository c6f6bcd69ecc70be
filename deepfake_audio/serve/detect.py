"""``deepfake detect [MODEL] PATH...``: score files and folders (recursively) with a trained
model, or with the built-in one (``--builtin``) when no model is given.

Long audio is scored in sliding windows and the window scores aggregated; the verdict uses the
threshold stored with the model (the validation EER threshold) unless ``--threshold`` is given.
An unreadable file gets an error row and the exit status is 1, but every other file is scored.
``--backend onnx`` scores a package exported with ``--onnx`` on onnxruntime, without torch.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from deepfake_audio.console import command_parser
from deepfake_audio.errors import UserError
from deepfake_audio.reading import AUDIO_SUFFIXES
from deepfake_audio.serve.builtin import DEFAULT, builtin_model, is_model
from deepfake_audio.serve.scoring import AGGREGATES, Detection

COLUMNS = ["file", "score", "prediction", "confidence", "duration", "windows", "error"]


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders replaced by the audio files below them, sorted; a file named
    twice (on its own and inside a folder, or by two routes) is scored once, where it first
    comes."""
    found: dict[Path, Path] = {}
    for path in paths:
        listed = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        for file in listed if path.is_dir() else [path]:
            found.setdefault(file.resolve(), file)
    return list(found.values())


def _row(detection: Detection) -> dict:
    if detection.error:
        return {"file": detection.file, "error": detection.error}
    return {
        "file": detection.file,
        "score": round(detection.score, 6),
        "prediction": detection.prediction,
        "confidence": round(detection.confidence, 6),
        "duration": round(detection.duration, 3),
        "windows": len(detection.windows),
        "error": "",
    }


def write_results(detections: list[Detection], out: Path, segments: bool) -> None:
    """``.json``: a list of objects (with ``segments`` if asked); ``.csv``: one row per file,
    and with ``segments`` a sibling ``*.segments.csv`` with one row per window."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        rows = []
        for detection in detections:
            row = _row(detection)
            if segments and not detection.error:
                row["segments"] = [
                    {"start": start, "score": score}
                    for start, score in zip(detection.starts, detection.windows, strict=True)
                ]
            rows.append(row)
        out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        return
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(_row(d) for d in detections)
    if segments:
        with out.with_suffix(".segments.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "window", "start", "score"])
            for d in detections:
                rows = enumerate(zip(d.starts, d.windows, strict=True))
                writer.writerows([d.file, i, start, score] for i, (start, score) in rows)


def print_table(detections: list[Detection]) -> None:
    width = min(max((len(d.file) for d in detections), default=4), 60)
    print(f"{'file':<{width}}  {'score':>6}  {'verdict':<9}  {'conf.':>6}  {'secs':>7}  windows")
    for d in detections:
        name = d.file if len(d.file) <= width else "..." + d.file[-width + 3 :]
        if d.error:
            print(f"{name:<{width}}  error: {d.error}")
        else:
            print(
                f"{name:<{width}}  {d.score:6.3f}  {d.prediction:<9}  {d.confidence:6.1%}  "
                f"{d.duration:7.2f}  {len(d.windows)}"
            )


def main(args: list[str]) -> int:
    parser = command_parser("deepfake detect", __doc__.splitlines()[0])
    parser.add_argument(
        "paths",
        type=Path,
        nargs="+",
        metavar="[MODEL] PATH",
        help="audio files or folders, after a checkpoint (.ckpt) or exported package; without "
        "one, the built-in model scores them",
    )
    parser.add_argument(
        "--builtin",
        default=DEFAULT,
        help=f"the built-in model when no MODEL is given (default {DEFAULT!r})",
    )
    parser.add_argument("--window", type=float, help="window in seconds (default: training length)")
    parser.add_argument("--hop", type=float, help="hop in seconds (default: the window)")
    parser.add_argument("--aggregate", choices=AGGREGATES, default="mean")
    parser.add_argument("--threshold", type=float, help="default: the one stored with the model")
    parser.add_argument("--out", type=Path, help="write results to a .csv or .json file")
    parser.add_argument("--segments", action="store_true", help="also write per-window scores")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    parser.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="torch",
        help="onnx: a package exported with --onnx, on onnxruntime (CPU), without torch",
    )
    options = parser.parse_args(args)
    paths = list(options.paths)
    options.model = paths.pop(0) if is_model(paths[0]) else builtin_model(options.builtin)
    if not paths:
        parser.error("give the audio files or folders to score after the model")
    options.paths = paths

    if options.backend == "onnx" and options.device not in (None, "cpu"):
        parser.error("--backend onnx runs on the CPU only")
    from deepfake_audio.serve.fusion import load_detector

    detector = load_detector(
        options.model, options.backend, device=options.device, threshold=options.threshold
    )
    files = expand(options.paths)
    if not files:
        raise UserError("no audio files found in " + ", ".join(map(str, options.paths)))
    from tqdm.auto import tqdm

    detections = [
        detector.detect_file(
            path,
            window_seconds=options.window,
            hop_seconds=options.hop,
            aggregate=options.aggregate,
            batch_size=options.batch_size,
        )
        for path in tqdm(files, desc="detecting", unit="file", disable=len(files) < 10)
    ]
    print_table(detections)
    if options.out:
        write_results(detections, options.out, options.segments)
    failed = [d for d in detections if d.error]
    if failed:
        print(
            f"deepfake detect: {len(failed)} of {len(detections)} files could not be scored",
            file=sys.stderr,
        )
        return 1
    return 0
