"""What a corpus holds and what could not be used: printed by `deepfake data check`, written
into every run's log folder."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfake_audio.audio import load_audio
from deepfake_audio.data.cache import scan
from deepfake_audio.data.corpus import LABEL_NAMES, SPLITS, Clip
from deepfake_audio.files import atomic_write, atomic_write_text, portable
from deepfake_audio.runs import RunFolder

SPLIT_COLUMNS = ["path", "label", "speaker", "split", "attack", "corpus", "source", "codec"]


@dataclass(frozen=True)
class _Decodable:
    """Decode a file only to prove that it can be used."""

    sample_rate: int

    def __call__(self, path: Path) -> np.ndarray:
        load_audio(path, self.sample_rate)
        return np.empty(0)


@dataclass
class DataReport:
    """The split clips of a corpus and the files left out, with the reason for each."""

    root: str  # the corpora, for the report's first line
    clips: list[Clip]
    unreadable: dict[Path, str] = field(default_factory=dict)
    held_out: str | None = None  # what a leave-one-out protocol held out and left out
    test_fold: tuple[int, int] | None = None  # (fold, folds) under cross-validation

    @staticmethod
    def check_files(clips: list[Clip], sample_rate: int, workers: int) -> dict[Path, str]:
        """Decode every clip once; map each unusable file to the reason."""
        paths = [clip.path for clip in clips]
        results = scan(paths, _Decodable(sample_rate), workers, desc="checking audio")
        return {path: reason for path, (_, reason) in zip(paths, results, strict=True) if reason}

    def summary(self) -> str:
        total = len(self.clips) + len(self.unreadable)
        lines = [
            f"corpus: {self.root}",
            f"files: {total} found, {len(self.unreadable)} unreadable (left out), "
            f"{len(self.clips)} used",
            "",
            f"{'split':<8}{'bona-fide':>10}{'spoof':>8}{'speakers':>10}",
        ]
        for split in SPLITS:
            members = [clip for clip in self.clips if clip.split == split]
            labels = Counter(clip.label for clip in members)
            speakers = len({clip.speaker for clip in members if clip.speaker})
            lines.append(f"{split:<8}{labels[1]:>10}{labels[0]:>8}{speakers or '-':>10}")
        corpora = sorted({clip.corpus for clip in self.clips if clip.corpus})
        if len(corpora) > 1:
            lines += ["", "corpora (bona-fide/spoof clips per split):"]
            for corpus in corpora:
                counts = Counter((c.split, c.label) for c in self.clips if c.corpus == corpus)
                cells = [f"{split} {counts[split, 1]}/{counts[split, 0]}" for split in SPLITS]
                lines.append(f"  {corpus}: " + ", ".join(cells))
        if any(clip.attack for clip in self.clips):
            lines += ["", "attacks (spoof clips):"]
            for split in SPLITS:
                attacks = Counter(c.attack for c in self.clips if c.split == split and c.attack)
                lines.append(
                    f"  {split}: " + ", ".join(f"{a} ({n})" for a, n in sorted(attacks.items()))
                )
        if self.held_out:
            lines += ["", self.held_out]
        if self.test_fold:
            fold, folds = self.test_fold
            lines += [
                "",
                f"cross-validation: the test split is fold {fold} of {folds} (folds 0 to "
                f"{folds - 1}); the other folds train and validate",
            ]
        if self.unreadable:
            lines += ["", "unreadable files:"]
            unreadable = sorted(self.unreadable.items())
            lines += [f"  {portable(path)}: {reason}" for path, reason in unreadable]
        return "\n".join(lines)

    def write(self, run: RunFolder) -> None:
        """Write a run's ``data_report.txt``, ``unreadable.csv`` and ``splits.csv``.

        ``splits.csv`` is itself a manifest: ``--data.root splits.csv`` reuses the split.
        """
        run.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run.data_report, self.summary() + "\n")
        with atomic_write(run.unreadable) as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "reason"])
            writer.writerows(sorted((str(p), reason) for p, reason in self.unreadable.items()))
        with atomic_write(run.splits) as handle:
            writer = csv.writer(handle)
            writer.writerow(SPLIT_COLUMNS)
            for clip in sorted(self.clips, key=lambda c: (SPLITS.index(c.split), str(c.path))):
                row = [clip.path.resolve(), LABEL_NAMES[clip.label], clip.speaker, clip.split]
                writer.writerow([*row, clip.attack, clip.corpus, clip.source, clip.codec])
