"""What every inference backend shares, without torch: sliding windows, aggregation, verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_audio.settings import MelFeatures

AGGREGATES = ("mean", "max", "median")
LABELS = {True: "bona-fide", False: "spoof"}


@dataclass
class Detection:
    """The verdict on one file; ``windows`` holds each window's score, ``starts`` its start (s)."""

    file: str
    score: float = float("nan")
    prediction: str = ""
    confidence: float = float("nan")
    duration: float = 0.0
    windows: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    error: str | None = None


def window_starts(samples: int, window: int, hop: int) -> list[int]:
    """Starts of windows every ``hop`` samples, the last one ending at the clip's end; one
    window (the clip repeated to fill it) when the clip is not longer than a window."""
    if samples <= window:
        return [0]
    starts = list(range(0, samples - window + 1, hop))
    if starts[-1] + window < samples:
        starts.append(samples - window)
    return starts


class WindowedDetector:
    """Scores audio with sliding windows; the window defaults to the model's training length.

    Backends provide :meth:`read` (a file to a mono waveform at the model's rate),
    :meth:`crops` (``[n, window]`` windows of a waveform) and :meth:`score_windows`.
    """

    features: MelFeatures
    threshold: float

    @property
    def window(self) -> int:
        return self.features.window_samples

    def read(self, path: str | Path) -> Any:
        raise NotImplementedError

    def crops(self, wave: Any, window: int, starts: list[int]) -> Any:
        raise NotImplementedError

    def score_windows(self, crops: Any, batch_size: int) -> list[float]:
        raise NotImplementedError

    def verdict(self, file: str, scores: list[float], aggregate: str, **details: Any) -> Detection:
        """Aggregate window scores (median: the lower middle one) and call the file."""
        values = np.sort(np.asarray(scores, dtype=np.float64))
        middle = values[(len(values) - 1) // 2]
        score = float({"mean": values.mean(), "max": values[-1], "median": middle}[aggregate])
        bona_fide = score >= self.threshold
        return Detection(
            file=file,
            score=score,
            prediction=LABELS[bona_fide],
            confidence=score if bona_fide else 1.0 - score,
            windows=scores,
            **details,
        )

    def detect_wave(
        self,
        wave: Any,
        file: str = "",
        window_seconds: float | None = None,
        hop_seconds: float | None = None,
        aggregate: str = "mean",
        batch_size: int = 32,
    ) -> Detection:
        """Score a mono waveform at the model's sample rate."""
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        rate = self.features.sample_rate
        window = round(window_seconds * rate) if window_seconds else self.window
        hop = round(hop_seconds * rate) if hop_seconds else window
        starts = window_starts(len(wave), window, hop)
        return self.verdict(
            file,
            self.score_windows(self.crops(wave, window, starts), batch_size),
            aggregate,
            duration=len(wave) / rate,
            starts=[round(start / rate, 3) for start in starts],
        )

    def detect_file(self, path: str | Path, **options: Any) -> Detection:
        """Score one file; an unreadable file gives a Detection with ``error`` set."""
        try:
            wave = self.read(path)
        except Exception as error:  # reported per file; the other files are still scored
            return Detection(file=str(path), error=str(error).removeprefix(f"{path}: "))
        return self.detect_wave(wave, str(path), **options)
