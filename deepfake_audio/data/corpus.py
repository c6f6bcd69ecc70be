"""Corpus indexers: every supported layout becomes one list of :class:`Clip`, and several
corpora one list whose speakers, attacks and sources are namespaced by corpus."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from deepfake_audio.reading import AUDIO_SUFFIXES

BONA_FIDE, SPOOF, UNLABELLED = 1, 0, -1
LABEL_NAMES = {BONA_FIDE: "bona-fide", SPOOF: "spoof", UNLABELLED: ""}
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
FORMATS = (
    "auto", "in_the_wild", "folders", "asvspoof2019", "asvspoof2021", "asvspoof5", "manifest",
    "files",
)  # fmt: skip


@dataclass(frozen=True)
class Clip:
    """One audio file with its label (1 = bona fide, 0 = spoof, -1 = unlabelled: a file to
    score) and what else is known of it:
    its speaker, its attack (the spoofing system), its split, the corpus it came from, its
    source (a sample page, a source corpus, a recording chain) and the codec it went through."""

    path: Path
    label: int
    speaker: str | None = None
    attack: str | None = None
    split: str | None = None
    corpus: str | None = None
    source: str | None = None
    codec: str | None = None


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

    A ``meta_full.csv`` beside it with a ``generator`` column names each spoof's attack, and
    its ``source`` column (if any) each clip's source.
    """
    meta = root / "meta.csv"
    full: dict[str, dict[str, str]] = {}
    if (root / "meta_full.csv").is_file():
        full = {
            row["file"]: row for _, row in _read_csv(root / "meta_full.csv", {"file", "generator"})
        }
    return [
        Clip(
            path=root / row["file"],
            label=parse_label(row["label"], f"{meta} line {line}"),
            speaker=_optional(row, "speaker"),
            attack=_optional(full.get(row["file"], {}), "generator"),
            source=_optional(full.get(row["file"], {}), "source"),
        )
        for line, row in _read_csv(meta, {"file", "speaker", "label"})
    ]


def index_manifest(manifest: Path) -> list[Clip]:
    """Index a CSV manifest ``path,label[,speaker][,split][,attack][,corpus][,source][,codec]``;
    relative paths are taken from the manifest's folder."""
    return [
        Clip(
            path=manifest.parent / row["path"],
            label=parse_label(row["label"], f"{manifest} line {line}"),
            speaker=_optional(row, "speaker"),
            attack=_optional(row, "attack"),
            split=parse_split(row.get("split") or "", f"{manifest} line {line}"),
            corpus=_optional(row, "corpus"),
            source=_optional(row, "source"),
            codec=_optional(row, "codec"),
        )
        for line, row in _read_csv(manifest, {"path", "label"})
    ]


def _protocol_rows(protocol: Path, columns: int, expected: str) -> list[tuple[int, list[str]]]:
    """The whitespace-separated rows of a protocol file with their line numbers; a row with
    fewer than ``columns`` fields is an error naming the file, the line and the format."""
    rows = []
    for number, line in enumerate(protocol.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < columns:
            raise CorpusError(f"{protocol} line {number}: expected '{expected}', got {line!r}")
        rows.append((number, fields))
    return rows


def index_asvspoof2019(root: Path) -> list[Clip]:
    """Index ASVspoof 2019 LA: protocol lines ``SPEAKER UTT - ATTACK KEY`` per partition,
    audio in ``ASVspoof2019_LA_{train,dev,eval}/flac``; the official partition is kept."""
    protocols = root / "ASVspoof2019_LA_cm_protocols"
    clips = []
    for partition, split in (("train", "train"), ("dev", "val"), ("eval", "test")):
        for protocol in sorted(protocols.glob(f"ASVspoof2019.LA.cm.{partition}.*.txt")):
            rows = _protocol_rows(protocol, 5, "SPEAKER UTT - ATTACK KEY")
            for number, fields in rows:
                if len(fields) != 5:
                    raise CorpusError(
                        f"{protocol} line {number}: expected 'SPEAKER UTT - ATTACK KEY', "
                        f"got {' '.join(fields)!r}"
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


ASVSPOOF2021_TRACKS = ("LA", "DF")


def index_asvspoof2021(root: Path) -> list[Clip]:
    """Index the ASVspoof 2021 LA and DF evaluation sets (whichever keys are present):
    ``keys/{LA,DF}/CM/trial_metadata.txt`` lines ``SPEAKER TRIAL CODEC SOURCE ATTACK KEY TRIM
    SUBSET`` (LA's fourth field is the transmission channel), audio in
    ``ASVspoof2021_{LA,DF}_eval/flac``. Every clip is evaluation data: the test split."""
    clips = []
    for track in ASVSPOOF2021_TRACKS:
        protocol = root / "keys" / track / "CM" / "trial_metadata.txt"
        if not protocol.is_file():
            continue
        audio = root / f"ASVspoof2021_{track}_eval" / "flac"
        layout = "SPEAKER TRIAL CODEC SOURCE ATTACK KEY TRIM SUBSET"
        for number, fields in _protocol_rows(protocol, 6, layout):
            speaker, trial, codec, source, attack, key = fields[:6]
            la = track == "LA"
            clips.append(
                Clip(
                    path=audio / f"{trial}.flac",
                    label=parse_label(key, f"{protocol} line {number}"),
                    speaker=speaker,
                    attack=None if attack in ("-", "bonafide") else attack,
                    split="test",
                    source=f"{track}/{source}" if not la else f"{track}/asvspoof",
                    codec=f"{codec}/{source}" if la else codec,
                )
            )
    return clips


ASVSPOOF5_PARTITIONS = (
    ("ASVspoof5.train.tsv", "flac_T", "train"),
    ("ASVspoof5.dev.track_1.tsv", "flac_D", "val"),
    ("ASVspoof5.eval.track_1.tsv", "flac_E_eval", "test"),
)


def index_asvspoof5(root: Path) -> list[Clip]:
    """Index ASVspoof 5 (track 1): ``ASVspoof5_protocols/ASVspoof5.{train,dev.track_1,
    eval.track_1}.tsv``, whitespace-separated lines ``SPEAKER FILE GENDER CODEC CODEC_Q
    CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY ...``, audio in ``flac_T``, ``flac_D`` and
    ``flac_E_eval``; the official partition is kept (the partitions present are indexed)."""
    protocols = root / "ASVspoof5_protocols"
    clips = []
    for name, folder, split in ASVSPOOF5_PARTITIONS:
        if not (protocols / name).is_file():
            continue
        layout = "SPEAKER FILE GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY"
        for number, fields in _protocol_rows(protocols / name, 9, layout):
            speaker, file, _, codec, quality, _, _, attack, key = fields[:9]
            clips.append(
                Clip(
                    path=root / folder / f"{file}.flac",
                    label=parse_label(key, f"{protocols / name} line {number}"),
                    speaker=speaker,
                    attack=None if attack in ("-", "bonafide") else attack,
                    split=split,
                    codec="none" if codec == "-" else f"{codec}/q{quality}",
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


def index_files(root: Path) -> list[Clip]:
    """Audio files to score, without labels: every audio file below a folder (sorted), or the
    paths listed one per line in a ``.txt`` file (relative to its folder; blank lines and
    ``#`` comments skipped)."""
    if root.is_dir():
        paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    else:
        lines = (line.strip() for line in root.read_text(encoding="utf-8").splitlines())
        paths = [root.parent / line for line in lines if line and not line.startswith("#")]
    return [Clip(path=path, label=UNLABELLED) for path in paths]


_INDEXERS = {
    "in_the_wild": index_in_the_wild,
    "folders": index_folders,
    "asvspoof2019": index_asvspoof2019,
    "asvspoof2021": index_asvspoof2021,
    "asvspoof5": index_asvspoof5,
    "manifest": index_manifest,
    "files": index_files,
}


def detect_format(root: Path) -> str:
    """Name the layout of ``root``: a CSV file is a manifest, a folder is looked into."""
    if root.is_file() and root.suffix.lower() == ".csv":
        return "manifest"
    if root.is_file() and root.suffix.lower() == ".txt":
        return "files"
    if (root / "meta.csv").is_file():
        return "in_the_wild"
    if (root / "ASVspoof2019_LA_cm_protocols").is_dir():
        return "asvspoof2019"
    if any(
        (root / "keys" / track / "CM" / "trial_metadata.txt").is_file()
        for track in ASVSPOOF2021_TRACKS
    ):
        return "asvspoof2021"
    if (root / "ASVspoof5_protocols").is_dir():
        return "asvspoof5"
    if any((folder / "real").is_dir() for folder in (root, *(root / s for s in SPLITS))):
        return "folders"
    raise CorpusError(
        f"{root}: no known corpus layout (expected meta.csv, ASVspoof2019_LA_cm_protocols/, "
        "keys/LA|DF/CM/trial_metadata.txt (ASVspoof 2021), ASVspoof5_protocols/, real/ and "
        "fake/ folders, or a CSV manifest file; for files to score without labels, a .txt "
        "list or --data.format files)"
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


def corpus_name(root: Path) -> str:
    """A corpus's name: its folder's (a manifest's file stem)."""
    root = Path(root)
    return root.stem if root.suffix.lower() == ".csv" else root.resolve().name


def index_corpora(roots: Sequence[Path], format: str = "auto") -> list[Clip]:
    """Index one or several corpora, each in its own layout, into one list.

    Every clip names its corpus (a manifest's ``corpus`` column, else the corpus's name). When
    the clips come from more than one corpus, speakers, attacks and sources are namespaced by
    corpus (``speech-devset/p225``), so that two corpora's ``p225`` or ``hifigan`` stay apart;
    clips that name the same corpus share one namespace. A file listed by two corpora is kept
    once if they give it the same label (with a warning that counts such files), and is an
    error if they disagree.
    """
    names = [corpus_name(root) for root in roots]
    for name in set(names):
        same = [str(root) for root, other in zip(roots, names, strict=True) if other == name]
        if len(same) > 1:
            raise CorpusError(
                f"two corpora are named {name!r} ({', '.join(same)}): their speakers and attacks "
                "would merge; list them in one manifest with a corpus column, or rename a folder"
            )
    kept: dict[Path, Clip] = {}
    repeated = 0
    for root, name in zip(roots, names, strict=True):
        for clip in index_corpus(root, format):
            clip = replace(clip, corpus=clip.corpus or name)
            first = kept.setdefault(clip.path.resolve(), clip)
            if first is clip:
                continue
            if first.label != clip.label:
                raise CorpusError(
                    f"{clip.path}: corpus {first.corpus!r} labels it {LABEL_NAMES[first.label]} "
                    f"and corpus {clip.corpus!r} {LABEL_NAMES[clip.label]}"
                )
            repeated += 1
    if repeated:
        warnings.warn(
            f"{repeated} file(s) are listed by two corpora with the same label; each is kept once",
            stacklevel=2,
        )
    clips = list(kept.values())
    if len({clip.corpus for clip in clips}) > 1:
        clips = [_namespaced(clip) for clip in clips]
    return clips


def _namespaced(clip: Clip) -> Clip:
    """The clip with its speaker, attack and source prefixed by its corpus (once)."""

    def within(value: str | None) -> str | None:
        prefix = f"{clip.corpus}/"
        return value if value is None or value.startswith(prefix) else prefix + value

    return replace(
        clip, speaker=within(clip.speaker), attack=within(clip.attack), source=within(clip.source)
    )
