"""Scoring audio with a trained detector, without Lightning: checkpoint or exported package in,
P(bona fide) per window and per file out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from deepfake_audio.audio import fit_length, load_audio
from deepfake_audio.features import MelFeatures, as_frames, as_image, normalise_utterance
from deepfake_audio.models.networks import Network, build_network

AGGREGATES = ("mean", "max", "median")
LABELS = {True: "bona-fide", False: "spoof"}


@dataclass
class Detection:
    """The verdict on one file; ``windows`` holds each window's score."""

    file: str
    score: float = float("nan")
    prediction: str = ""
    confidence: float = float("nan")
    duration: float = 0.0
    windows: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the weights that scoring needs, as stored with a model."""

    network: dict[str, Any]
    input: dict[str, Any]
    threshold: float = 0.5
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> MelFeatures:
        return MelFeatures(**self.input["features"])

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "input": self.input,
            "threshold": self.threshold,
            **self.metadata,
        }


def load_checkpoint(path: Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """Spec and network weights of a training checkpoint, loaded with ``weights_only=True``."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    stored = checkpoint.get("deepfake_audio")
    if stored is None:
        raise ValueError(f"{path}: not a deepfake-audio checkpoint (no 'deepfake_audio' entry)")
    state = checkpoint["state_dict"]
    weights = {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}
    threshold = float(state.get("threshold", torch.tensor(0.5)))
    return ModelSpec(stored["network"], stored["input"], threshold), weights


def load_package(folder: Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """Spec and weights of an exported package (``config.json`` + ``model.safetensors``)."""
    from safetensors.torch import load_file

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    spec = ModelSpec(
        config.pop("network"), config.pop("input"), float(config.pop("threshold")), config
    )
    return spec, load_file(folder / "model.safetensors")


def load_model(path: str | Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """A checkpoint file or an exported package folder."""
    path = Path(path)
    if path.is_dir():
        return load_package(path)
    if path.is_file():
        return load_checkpoint(path)
    raise FileNotFoundError(f"{path}: no such checkpoint or model package")


class AudioDetector:
    """Scores audio with sliding windows; the window defaults to the model's training length."""

    def __init__(
        self,
        spec: ModelSpec,
        weights: dict[str, torch.Tensor],
        device: str | None = None,
        threshold: float | None = None,
    ) -> None:
        self.spec = spec
        self.features = spec.features
        self.threshold = spec.threshold if threshold is None else threshold
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.network: Network = build_network(spec.network)
        self.network.load_state_dict(weights)
        self.network.eval().to(self.device)
        self.front_end = self.features.front_end().to(self.device)
        self.window = self.front_end.num_samples(self.features.frames)

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> AudioDetector:
        return cls(*load_model(path), **options)

    @staticmethod
    def windows(wave: torch.Tensor, window: int, hop: int) -> tuple[torch.Tensor, list[int]]:
        """``[n, window]`` crops every ``hop`` samples, the last one ending at the clip's end,
        and their start samples; a clip shorter than one window is repeated to fill it."""
        if wave.numel() <= window:
            return fit_length(wave, window).unsqueeze(0), [0]
        starts = list(range(0, wave.numel() - window + 1, hop))
        if starts[-1] + window < wave.numel():
            starts.append(wave.numel() - window)
        return torch.stack([wave[s : s + window] for s in starts]), starts

    def model_input(self, crops: torch.Tensor) -> Any:
        """Windows ``[n, samples]`` as a batch of this model's inputs."""
        logmel = normalise_utterance(self.front_end(crops))
        representation = self.spec.input["representation"]
        if representation == "image":
            return as_image(logmel, self.spec.input["channels"])
        if representation == "sequence":
            return as_frames(logmel)
        if representation == "graph":
            from deepfake_audio.data.graph import graph_batch

            return graph_batch(as_frames(logmel), self.spec.input["k"])
        raise ValueError(f"unknown input representation {representation!r}")

    @torch.no_grad()
    def score_windows(self, crops: torch.Tensor, batch_size: int = 32) -> list[float]:
        scores = []
        for start in range(0, len(crops), batch_size):
            batch = crops[start : start + batch_size].to(self.device)
            scores += torch.sigmoid(self.network(self.model_input(batch))).float().tolist()
        return scores

    def verdict(self, file: str, scores: list[float], aggregate: str, **details: Any) -> Detection:
        """Aggregate window scores and call the file by the threshold."""
        values = torch.tensor(scores)
        score = float(
            {"mean": values.mean, "max": values.max, "median": values.median}[aggregate]()
        )
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
        wave: torch.Tensor,
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
        crops, starts = self.windows(wave, window, hop)
        return self.verdict(
            file,
            self.score_windows(crops, batch_size),
            aggregate,
            duration=wave.numel() / rate,
            starts=[round(start / rate, 3) for start in starts],
        )

    def detect_file(self, path: str | Path, **options: Any) -> Detection:
        """Score one file; an unreadable file gives a Detection with ``error`` set."""
        try:
            wave = load_audio(path, self.features.sample_rate)
        except Exception as error:  # reported per file; the other files are still scored
            return Detection(file=str(path), error=str(error).removeprefix(f"{path}: "))
        return self.detect_wave(wave, str(path), **options)
