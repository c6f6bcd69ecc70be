"""Scoring audio with a trained detector, without Lightning: checkpoint or exported package in,
P(bona fide) per window and per file out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepfake_audio.audio import fit_length, load_audio, resample
from deepfake_audio.features import as_frames, as_image, normalise_utterance
from deepfake_audio.models.networks import Network, build_network
from deepfake_audio.serve.scoring import WindowedDetector
from deepfake_audio.settings import MelFeatures


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


class AudioDetector(WindowedDetector):
    """The torch backend: sliding windows, log-mel, the network, on CPU or GPU."""

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

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> AudioDetector:
        return cls(*load_model(path), **options)

    def read(self, path: str | Path) -> torch.Tensor:
        return load_audio(path, self.features.sample_rate)

    def to_wave(self, samples: np.ndarray, file_rate: int) -> torch.Tensor:
        return resample(samples, file_rate, self.features.sample_rate)

    def crops(self, wave: torch.Tensor, window: int, starts: list[int]) -> torch.Tensor:
        return torch.stack([fit_length(wave, window, start) for start in starts])

    def model_input(self, crops: torch.Tensor) -> Any:
        """Windows ``[n, samples]`` as a batch of this model's inputs."""
        logmel = normalise_utterance(self.front_end(crops), self.features.blocks)
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
