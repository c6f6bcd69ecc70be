"""Corpus indexers: every supported layout becomes one list of :class:`Clip`."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from deepfake_audio.reading import AUDIO_SUFFIXES

BONA_FIDE, SPOOF = 1, 0
LABEL_NAMES = {BONA_FIDE: "bona-fide", SPOOF: "spoof"}
_LABELS = {
    **dict.fromkeys(("bona-fide", "bonafide", "bona fide", "real", "1"), BONA_FIDE),
    **dict.fromkeys(("spoof", "fake", "0"), SPOOF),
}
SPLITS = ("train", "val", "test")
_SPLIT_NAMES = {
    "train": "train",
    "val": "val",
    "dev": "val",
    "valid": "val",
    "test": "test",
    "eval": "test",
}
FORMATS = ("auto", "in_the_wild", "folders", "asvspoof2019", "manifest")


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
    """Map a label (``bona-fide``/``bonafide``/``real``/1 or ``spoof``/``fake``/0) to 1 / 0."""
    try:
        return _LABELS[text.strip().lower()]
    except KeyError:
        raise CorpusError(
            f"{where}: unknown label {text!r} (expected 'bona-fide' or 'spoof')"
        ) from None


def parse_split(text: str, where: str) -> str | None:
    """Map a partition name (train, val/dev, test/eval; empty for none) to one of SPLITS."""
    if not text.strip():
        return None
    try:
        return _SPLIT_NAMES[text.strip().lower()]
    except KeyError:
        raise CorpusError(
            f"{where}: unknown split {text!r} (expected train, val or test)"
        ) from None


def _read_csv(path: Path, required: set[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with their line numbers, checking that the required columns exist."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or ())
        if missing:
            raise CorpusError(f"{path}: missing column(s) {sorted(missing)}")
        return list(enumerate(reader, start=2))


def _optional(row: dict[str, str], column: str) -> str | None:
    """A column's value, or None where it is absent, empty or '-'."""
    value = (row.get(column) or "").strip()
    return value if value and value != "-" else None


def index_in_the_wild(root: Path) -> list[Clip]:
    """Index an In-the-Wild release: ``meta.csv`` (file,speaker,label) with the audio beside it.

    A ``meta_full.csv`` beside it with a ``generator`` column names each spoof's attack.
    """
    meta = root / "meta.csv"
    generators = {}
    if (root / "meta_full.csv").is_file():
        full = _read_csv(root / "meta_full.csv", {"file", "generator"})
        generators = {row["file"]: _optional(row, "generator") for _, row in full}
    return [
        Clip(
            path=root / row["file"],
            label=parse_label(row["label"], f"{meta} line {line}"),
            speaker=_optional(row, "speaker"),
            attack=generators.get(row["file"]),
        )
        for line, row in _read_csv(meta, {"file", "speaker", "label"})
    ]


def index_manifest(manifest: Path) -> list[Clip]:
    """Index a CSV manifest ``path,label[,speaker][,split][,attack]``; relative paths are
    taken from the manifest's folder."""
    return [
        Clip(
            path=manifest.parent / row["path"],
            label=parse_label(row["label"], f"{manifest} line {line}"),
            speaker=_optional(row, "speaker"),
            attack=_optional(row, "attack"),
            split=parse_split(row.get("split") or "", f"{manifest} line {line}"),
        )
        for line, row in _read_csv(manifest, {"path", "label"})
    ]


def index_asvspoof2019(root: Path) -> list[Clip]:
    """Index ASVspoof 2019 LA: protocol lines ``SPEAKER UTT - ATTACK KEY`` per partition,
    audio in ``ASVspoof2019_LA_{train,dev,eval}/flac``; the official partition is kept."""
    protocols = root / "ASVspoof2019_LA_cm_protocols"
    clips = []
    for partition, split in (("train", "train"), ("dev", "val"), ("eval", "test")):
        found = sorted(protocols.glob(f"ASVspoof2019.LA.cm.{partition}.*.txt"))
        for protocol in found:
            lines = protocol.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 5:
                    raise CorpusError(
                        f"{protocol} line {number}: expected 'SPEAKER UTT - ATTACK KEY', "
                        f"got {line!r}"
                    )
                speaker, utterance, _, attack, key = fields
                clips.append(
                    Clip(
                        path=root / f"ASVspoof2019_LA_{partition}" / "flac" / f"{utterance}.flac",
                        label=parse_label(key, f"{protocol} line {number}"),
                        speaker=speaker,
                        attack=None if attack == "-" else attack,
                        split=split,
                    )
                )
    return clips


def index_folders(root: Path) -> list[Clip]:
    """Index ``real/`` + ``fake/`` folders, optionally under ``train/ val/ test/``.

    A spoof in a subfolder of ``fake/`` takes that subfolder's name as its attack.
    """
    partitioned = [split for split in SPLITS if (root / split).is_dir()]
    parts = [(root / split, split) for split in partitioned] or [(root, None)]
    clips = []
    for folder, split in parts:
        for name, label in (("real", BONA_FIDE), ("fake", SPOOF)):
            for path in sorted((folder / name).rglob("*")):
                if path.suffix.lower() not in AUDIO_SUFFIXES:
                    continue
                nested = path.relative_to(folder / name).parts
                attack = nested[0] if label == SPOOF and len(nested) > 1 else None
                clips.append(Clip(path=path, label=label, attack=attack, split=split))
    return clips


_INDEXERS = {
    "in_the_wild": index_in_the_wild,
    "folders": index_folders,
    "asvspoof2019": index_asvspoof2019,
    "manifest": index_manifest,
}


def detect_format(root: Path) -> str:
    """Name the layout of ``root``: a CSV file is a manifest, a folder is looked into."""
    if root.is_file() and root.suffix.lower() == ".csv":
        return "manifest"
    if (root / "meta.csv").is_file():
        return "in_the_wild"
    if (root / "ASVspoof2019_LA_cm_protocols").is_dir():
        return "asvspoof2019"
    if any((folder / "real").is_dir() for folder in (root, *(root / s for s in SPLITS))):
        return "folders"
    raise CorpusError(
        f"{root}: no known corpus layout (expected meta.csv, ASVspoof2019_LA_cm_protocols/, "
        "real/ and fake/ folders, or a CSV manifest file)"
    )


def index_corpus(root: Path, format: str = "auto") -> list[Clip]:
    """Index ``root`` in the given layout (detected when ``auto``).

    Listed files that do not exist are left out with a warning that counts them; duplicate
    listings of one file are an error.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"{root}: no such file or folder")
    if format not in FORMATS:
        raise CorpusError(f"unknown corpus format {format!r}; choose one of {FORMATS}")
    clips = _INDEXERS[detect_format(root) if format == "auto" else format](root)
    # Only spoofs have an attack, whatever a bona fide row's generator column says.
    clips = [replace(c, attack=None) if c.label != SPOOF else c for c in clips]
    repeated = [path for path, count in Counter(c.path for c in clips).items() if count > 1]
    if repeated:
        raise CorpusError(f"{root}: {len(repeated)} file(s) listed twice, e.g. {repeated[0]}")
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
