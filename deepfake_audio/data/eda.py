"""``deepfake eda``: what a corpus looks like, per class, before anything is trained.

    deepfake eda --data.root DIR [--data.format F] [--out DIR] [--workers N]

Writes ``duration.png``, ``amplitude.png`` and ``centroid.png`` (per-class histograms of clip
duration, mean absolute amplitude and spectral centroid, a pitch and brightness proxy),
``summary.csv`` (class balance, sample rates, channels, durations) and ``clips.csv`` (every
file's figures).
"""

from __future__ import annotations

import csv
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from deepfake_audio.audio import SAMPLE_RATE, load_audio
from deepfake_audio.console import command_parser
from deepfake_audio.data.cache import scan
from deepfake_audio.data.corpus import FORMATS, LABEL_NAMES, index_corpus
from deepfake_audio.data.demo import ensure_demo_corpus
from deepfake_audio.errors import UserError
from deepfake_audio.files import atomic_write

STATS = ("duration", "sample_rate", "channels", "mean_amplitude", "spectral_centroid")
PLOTS = {
    "duration": "Clip duration (s)",
    "mean_amplitude": "Mean absolute amplitude",
    "spectral_centroid": "Mean spectral centroid (Hz)",
}


@dataclass(frozen=True)
class ClipStatistics:
    """Per-file figures, in the order of :data:`STATS`."""

    def __call__(self, path: Path) -> np.ndarray:
        info = sf.info(str(path))
        wave = load_audio(path, SAMPLE_RATE).numpy()
        centroid = librosa.feature.spectral_centroid(y=wave, sr=SAMPLE_RATE).mean()
        return np.array(
            [info.duration, info.samplerate, info.channels, np.abs(wave).mean(), centroid]
        )


def _histogram(values: dict[str, np.ndarray], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.6))
    joined = np.concatenate(list(values.values()))
    bins = np.linspace(joined.min(), joined.max() + 1e-9, 31)
    for name, column in values.items():
        axes.hist(column, bins=bins, alpha=0.6, label=f"{name} ({len(column)})")
    axes.set(xlabel=title, ylabel="clips", title=f"{title} by class")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def summarise(table: dict[str, np.ndarray], labels: np.ndarray) -> list[list[str]]:
    """Rows of ``summary.csv``: statistic, bona-fide, spoof, all."""
    classes = {"bona-fide": labels == 1, "spoof": labels == 0, "all": np.ones_like(labels, bool)}

    def row(name: str, describe) -> list[str]:
        return [name, *(describe(mask) for mask in classes.values())]

    def counts(column: str):
        return lambda m: "; ".join(
            f"{v:g}: {n}" for v, n in sorted(Counter(table[column][m]).items())
        )

    durations = table["duration"]
    return [
        ["statistic", *classes],
        row("clips", lambda m: str(int(m.sum()))),
        row("share", lambda m: f"{m.mean():.3f}"),
        row("hours", lambda m: f"{durations[m].sum() / 3600:.2f}"),
        row("duration mean (s)", lambda m: f"{durations[m].mean():.2f}" if m.any() else ""),
        row("duration min (s)", lambda m: f"{durations[m].min():.2f}" if m.any() else ""),
        row("duration max (s)", lambda m: f"{durations[m].max():.2f}" if m.any() else ""),
        row("sample rates (Hz: clips)", counts("sample_rate")),
        row("channels (count: clips)", counts("channels")),
    ]


def main(args: list[str]) -> int:
    parser = command_parser("deepfake eda", __doc__.splitlines()[0])
    parser.add_argument("--data.root", dest="root", type=Path, default=None)
    parser.add_argument("--data.format", dest="format", choices=FORMATS, default="auto")
    parser.add_argument("--out", type=Path, default=None, help="default: lightning_logs/eda/<time>")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args(args)
    root = options.root or ensure_demo_corpus()
    clips = index_corpus(root, options.format)
    results = list(scan([c.path for c in clips], ClipStatistics(), options.workers, "analysing"))
    kept = [
        (clip, stats) for clip, (stats, _) in zip(clips, results, strict=True) if stats is not None
    ]
    unreadable = len(clips) - len(kept)
    if not kept:
        raise UserError(f"none of the {len(clips)} files in {root} can be read")
    labels = np.array([clip.label for clip, _ in kept])
    table = {name: np.array([stats[i] for _, stats in kept]) for i, name in enumerate(STATS)}

    out = options.out or Path("lightning_logs") / "eda" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    for column, title in PLOTS.items():
        by_class = {
            LABEL_NAMES[v]: table[column][labels == v] for v in (1, 0) if (labels == v).any()
        }
        _histogram(by_class, title, out / f"{column.split('_')[-1]}.png")
    rows = summarise(table, labels) + [["unreadable files (left out)", "", "", str(unreadable)]]
    with atomic_write(out / "summary.csv") as handle:
        csv.writer(handle).writerows(rows)
    with atomic_write(out / "clips.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "speaker", *STATS])
        for clip, stats in kept:
            writer.writerow([clip.path, LABEL_NAMES[clip.label], clip.speaker or "", *stats])
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{width}}  " + "  ".join(f"{cell:>14}" for cell in r[1:]))
    print(f"written to {out}")
    return 0
