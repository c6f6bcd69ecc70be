"""What every inference backend shares, without torch: sliding windows, aggregation, verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from deepfake_audio.features import InputSpec
from deepfake_audio.reading import AudioError, audio_info
from deepfake_audio.windows import window_starts

AGGREGATES = ("mean", "max", "median")
STREAM_SECONDS = 60.0  # longer files are read in pieces
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


def aggregate_scores(scores: list[float], aggregate: str = "mean") -> float:
    """A file's score from its windows' (median: the lower middle one)."""
    values = np.sort(np.asarray(scores, dtype=np.float64))
    middle = values[(len(values) - 1) // 2]
    return float({"mean": values.mean(), "max": values[-1], "median": middle}[aggregate])


def confidence(score: float, threshold: float) -> float:
    """How sure the verdict is, from 0.5 at the threshold to 1 at a score of 0 or 1: the score
    rescaled on the verdict's side of the threshold (the score itself, or one minus it, when the
    threshold is 0.5). It never falls below 0.5, so it cannot contradict the verdict."""
    if score >= threshold:
        return 0.5 + 0.5 * (score - threshold) / (1.0 - threshold) if threshold < 1 else 1.0
    return 0.5 + 0.5 * (threshold - score) / threshold


def verdict(
    file: str, scores: list[float], threshold: float, aggregate: str = "mean", **details: Any
) -> Detection:
    """A file's verdict from its window scores: bona fide when the aggregate is at least the
    threshold, with its :func:`confidence`."""
    score = aggregate_scores(scores, aggregate)
    return Detection(
        file=file,
        score=score,
        prediction=LABELS[score >= threshold],
        confidence=confidence(score, threshold),
        windows=scores,
        **details,
    )


class WindowedDetector:
    """Scores audio with sliding windows; the window defaults to the model's training length.

    Backends provide :meth:`read` (a file to a mono waveform at the model's rate),
    :meth:`crops` (``[n, window]`` windows of a waveform) and :meth:`score_windows`.
    """

    spec: InputSpec
    threshold: float

    @property
    def window(self) -> int:
        return self.spec.window_samples

    @property
    def description(self) -> str:
        """What the model reads, in words (for the web app)."""
        return f"reads {self.spec.features.describe()}"

    def read(self, path: str | Path) -> Any:
        """A file as a mono waveform at the model's rate, trimmed as its front end says."""
        raise NotImplementedError

    def to_wave(self, samples: np.ndarray, file_rate: int) -> Any:
        """Mono samples at ``file_rate`` as this backend's waveform at the model's rate."""
        raise NotImplementedError

    def crops(self, wave: Any, window: int, starts: list[int]) -> Any:
        raise NotImplementedError

    def score_windows(self, crops: Any, batch_size: int) -> list[float]:
        raise NotImplementedError

    def verdict(self, file: str, scores: list[float], aggregate: str, **details: Any) -> Detection:
        """Aggregate window scores and call the file (see :func:`verdict`)."""
        return verdict(file, scores, self.threshold, aggregate, **details)

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
        rate = self.spec.sample_rate
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

    def detect_file(
        self,
        path: str | Path,
        window_seconds: float | None = None,
        hop_seconds: float | None = None,
        aggregate: str = "mean",
        batch_size: int = 32,
    ) -> Detection:
        """Score one file; an unreadable file gives a Detection with ``error`` set.

        Files longer than :data:`STREAM_SECONDS` are read a batch of windows at a time, so
        memory stays bounded however long the recording (and their ends are not trimmed).
        """
        options = {"aggregate": aggregate, "batch_size": batch_size}
        try:
            info = audio_info(path)
            rate = self.spec.sample_rate
            window = round(window_seconds * rate) if window_seconds else self.window
            hop = round(hop_seconds * rate) if hop_seconds else window
            if info.duration <= max(STREAM_SECONDS, 2 * window / rate):
                wave = self.read(path)
                return self.detect_wave(wave, str(path), window / rate, hop / rate, **options)
            return self._detect_stream(path, info.samplerate, info.frames, window, hop, **options)
        except Exception as error:  # reported per file; the other files are still scored
            return Detection(file=str(path), error=str(error).removeprefix(f"{path}: "))

    def _detect_stream(
        self, path: str | Path, file_rate: int, frames: int, window: int, hop: int, **options: Any
    ) -> Detection:
        rate = self.spec.sample_rate
        total = math.ceil(frames * rate / file_rate)
        starts = window_starts(total, window, hop)
        scores: list[float] = []
        batch = options["batch_size"]
        with sf.SoundFile(str(path)) as audio:
            for first in range(0, len(starts), batch):
                group = starts[first : first + batch]
                wave, offset = self._read_span(audio, path, group[0], group[-1] + window)
                crops = self.crops(wave, window, [start - offset for start in group])
                scores += self.score_windows(crops, batch)
        return self.verdict(
            str(path),
            scores,
            options["aggregate"],
            duration=total / rate,
            starts=[round(start / rate, 3) for start in starts],
        )

    def _read_span(
        self, audio: sf.SoundFile, path: str | Path, begin: int, end: int
    ) -> tuple[Any, int]:
        """Samples ``[begin, end)`` at the model's rate (and a little around them), read from
        the file with a margin aligned to both rates so the resampling matches a whole read.
        Returns the waveform and the model-rate index of its first sample."""
        rate = self.spec.sample_rate
        common = math.gcd(rate, audio.samplerate)
        unit, file_unit = rate // common, audio.samplerate // common
        margin = math.ceil(0.05 * rate / unit)
        first = max(begin // unit - margin, 0)
        last = -(-end // unit) + margin
        audio.seek(first * file_unit)
        block = audio.read((last - first) * file_unit, dtype="float32", always_2d=True)
        if not np.isfinite(block).all():
            raise AudioError(f"{path}: audio contains NaN or Inf samples")
        return self.to_wave(block.mean(axis=1), audio.samplerate), first * unit
