"""Learnt score fusion: one model made of several trained detectors, whose calibrated scores of
each window are combined by a logistic regression fitted on validation windows (not an
average: a member that ranks the validation clips well gets the weight it earns).

A fused package is a folder with ``config.json`` (``fusion``: the members' folders, their
weights, the bias, the window) and one ordinary package per member under ``members/``; every
backend scores it by scoring each window with every member (on the same crop, the fusion's
window) and fusing their logits. Nothing here imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_audio.features import InputSpec
from deepfake_audio.models.format import FORMAT_VERSION, FormatError
from deepfake_audio.serve.package import CONFIG
from deepfake_audio.serve.scoring import WindowedDetector

KEY = "fusion"  # the config.json entry that marks a fused package
MEMBERS = "members"  # the folder of the member packages
EPSILON = 1e-6  # scores are clipped to [EPSILON, 1 - EPSILON] before their logits are taken


def logits(scores: np.ndarray) -> np.ndarray:
    """The logits of P(bona fide) scores, clipped away from 0 and 1."""
    clipped = np.clip(np.asarray(scores, dtype=np.float64), EPSILON, 1 - EPSILON)
    return np.log(clipped) - np.log1p(-clipped)


@dataclass(frozen=True)
class Fusion:
    """The fusion of a fused package: member folders (relative to the package), a weight per
    member for its window logits, a bias, the validation EER threshold of the fused score, and
    the window every member scores."""

    members: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    window_samples: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def fused(self, member_scores: np.ndarray) -> np.ndarray:
        """P(bona fide) of windows from the members' scores ``[windows, members]``."""
        z = logits(member_scores) @ np.asarray(self.weights) + self.bias
        return np.exp(-np.logaddexp(0, -z))

    def to_json(self) -> dict[str, Any]:
        entry = {
            "members": list(self.members),
            "weights": list(self.weights),
            "bias": self.bias,
            "window_samples": self.window_samples,
        }
        return {"format_version": FORMAT_VERSION, KEY: entry, "threshold": self.threshold,
                **self.metadata}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> Fusion:
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise FormatError(f"{where}: unknown fused-model format {version!r}")
        entry = data[KEY]
        metadata = {k: v for k, v in data.items() if k not in ("format_version", KEY, "threshold")}
        return cls(
            tuple(entry["members"]),
            tuple(float(w) for w in entry["weights"]),
            float(entry["bias"]),
            float(data["threshold"]),
            int(entry["window_samples"]),
            metadata,
        )


def is_fusion(path: Path) -> bool:
    """Whether ``path`` is a fused package."""
    config = path / CONFIG
    return config.is_file() and KEY in json.loads(config.read_text(encoding="utf-8"))


def read_fusion(folder: Path) -> Fusion:
    return Fusion.from_json(json.loads((folder / CONFIG).read_text(encoding="utf-8")), str(folder))


def write_fusion(folder: Path, fusion: Fusion) -> None:
    (folder / CONFIG).write_text(json.dumps(fusion.to_json(), indent=2) + "\n", encoding="utf-8")


class FusedDetector(WindowedDetector):
    """Scores each window with every member and fuses their scores (:class:`Fusion`). The
    members share one backend and sample rate; the waveform, crops and figures are the first
    member's."""

    def __init__(
        self, fusion: Fusion, members: list[WindowedDetector], threshold: float | None = None
    ) -> None:
        reading = {(m.spec.sample_rate, m.spec.features.trim_db) for m in members}
        if len(reading) > 1:
            raise ValueError(
                "the members of a fusion read audio differently (sample rate, trim_db): "
                f"{sorted(reading, key=str)}"
            )
        self.fusion = fusion
        self.members = members
        self.threshold = fusion.threshold if threshold is None else threshold
        first = members[0]
        self.spec: InputSpec = first.spec
        self.front_end = getattr(first, "front_end", None)
        self.device = getattr(first, "device", None)

    @classmethod
    def load(cls, path: str | Path, backend: str = "torch", **options: Any) -> FusedDetector:
        """A fused package, each member on ``backend`` (``torch`` or ``onnx``); ``threshold``
        replaces the fused threshold, the other options go to the members."""
        folder = Path(path)
        fusion = read_fusion(folder)
        threshold = options.pop("threshold", None)
        members = [load_single(folder / member, backend, **options) for member in fusion.members]
        return cls(fusion, members, threshold)

    @property
    def window(self) -> int:
        return self.fusion.window_samples

    @property
    def description(self) -> str:
        parts = "; ".join(
            f"({index}) {member.description}" for index, member in enumerate(self.members, 1)
        )
        return f"fuses the scores of {len(self.members)} models: {parts}"

    def read(self, path: str | Path) -> Any:
        return self.members[0].read(path)

    def to_wave(self, samples: np.ndarray, file_rate: int) -> Any:
        return self.members[0].to_wave(samples, file_rate)

    def crops(self, wave: Any, window: int, starts: list[int]) -> Any:
        return self.members[0].crops(wave, window, starts)

    def member_scores(self, crops: Any, batch_size: int = 32) -> np.ndarray:
        """Each member's calibrated score of each window, ``[windows, members]``."""
        return np.stack(
            [member.score_windows(crops, batch_size) for member in self.members], axis=1
        )

    def score_windows(self, crops: Any, batch_size: int = 32) -> list[float]:
        return self.fusion.fused(self.member_scores(crops, batch_size)).tolist()


def load_single(path: Path, backend: str, **options: Any) -> WindowedDetector:
    """One model (a checkpoint or package) on ``backend``."""
    if backend == "onnx":
        from deepfake_audio.serve.onnx import OnnxDetector

        options.pop("device", None)
        return OnnxDetector.load(path, **options)
    from deepfake_audio.serve.inference import AudioDetector

    return AudioDetector.load(path, **options)


def load_detector(path: str | Path, backend: str = "torch", **options: Any) -> WindowedDetector:
    """Any model: a checkpoint, a package or a fused package, scored on ``backend``."""
    path = Path(path)
    if path.is_dir() and is_fusion(path):
        return FusedDetector.load(path, backend, **options)
    return load_single(path, backend, **options)
