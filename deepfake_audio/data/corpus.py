"""Corpus indexers: every supported layout becomes one list of :class:`Clip`."""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3"}
BONA_FIDE, SPOOF = 1, 0
_LABELS = {"bona-fide": BONA_FIDE, "bonafide": BONA_FIDE, "bona fide": BONA_FIDE, "spoof": SPOOF}
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Clip:
    """One audio file with its label (1 = bona fide, 0 = spoof) and what else is known of it."""

    path: Path
    label: int
    speaker: str | None = None
    attack: str | None = None
    split: str | None = None


class CorpusError(ValueError):
    """A corpus that cannot be indexed, with the offending file named in the message."""


def parse_label(text: str, where: str) -> int:
    """Map an In-the-Wild style label (``bona-fide`` / ``spoof``) to 1 / 0."""
    try:
        return _LABELS[text.strip().lower()]
    except KeyError:
        raise CorpusError(
            f"{where}: unknown label {text!r} (expected 'bona-fide' or 'spoof')"
        ) from None


def index_in_the_wild(root: Path) -> list[Clip]:
    """Index an In-the-Wild release: ``meta.csv`` (file,speaker,label) with the audio beside it."""
    meta = root / "meta.csv"
    with meta.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "speaker", "label"} - set(reader.fieldnames or ())
        if missing:
            raise CorpusError(f"{meta}: missing column(s) {sorted(missing)}")
        return [
            Clip(
                path=root / row["file"],
                label=parse_label(row["label"], f"{meta} line {line}"),
                speaker=row["speaker"] or None,
            )
            for line, row in enumerate(reader, start=2)
        ]


def index_folders(root: Path) -> list[Clip]:
    """Index ``real/`` + ``fake/`` folders, optionally under ``train/ val/ test/``."""
    partitioned = [split for split in SPLITS if (root / split).is_dir()]
    parts = [(root / split, split) for split in partitioned] or [(root, None)]
    clips = []
    for folder, split in parts:
        for name, label in (("real", BONA_FIDE), ("fake", SPOOF)):
            clips += [
                Clip(path=path, label=label, split=split)
                for path in sorted((folder / name).rglob("*"))
                if path.suffix.lower() in AUDIO_SUFFIXES
            ]
    return clips


def index_corpus(root: Path) -> list[Clip]:
    """Detect the layout of ``root``, index it and leave out (with a warning) missing files."""
    root = Path(root)
    if (root / "meta.csv").is_file():
        clips = index_in_the_wild(root)
    elif any((folder / "real").is_dir() for folder in (root, *(root / s for s in SPLITS))):
        clips = index_folders(root)
    else:
        raise CorpusError(
            f"{root}: no known corpus layout (expected meta.csv, or real/ and fake/ folders)"
        )
    present = [clip for clip in clips if clip.path.is_file()]
    if len(present) < len(clips):
        absent = [str(clip.path) for clip in clips if not clip.path.is_file()]
        warnings.warn(
            f"{root}: left out {len(absent)} of {len(clips)} listed files that do not exist, "
            f"e.g. {absent[:3]}",
            stacklevel=2,
        )
    if not present:
        raise CorpusError(f"{root}: the corpus holds no audio files")
    return present
