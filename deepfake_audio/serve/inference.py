"""The torch backend: a checkpoint or package in, P(bona fide) per window and per file out,
on CPU or GPU, without Lightning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepfake_audio.audio import fit_length, load_audio, resample
from deepfake_audio.models.networks import Network, build_network
from deepfake_audio.serve.package import ModelSpec, load_model
from deepfake_audio.serve.scoring import WindowedDetector


class AudioDetector(WindowedDetector):
    """Sliding windows, the front end, the network."""

    def __init__(
        self,
        model: ModelSpec,
        weights: dict[str, torch.Tensor],
        device: str | None = None,
        threshold: float | None = None,
    ) -> None:
        self.model = model
        self.spec = model.input
        self.threshold = model.threshold if threshold is None else threshold
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.network: Network = build_network(model.network)
        self.network.load_state_dict(weights)
        self.network.eval().to(self.device)
        self.front_end = self.spec.features.front_end().to(self.device)

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> AudioDetector:
        return cls(*load_model(path), **options)

    def read(self, path: str | Path) -> torch.Tensor:
        return self.spec.features.trimmed(load_audio(path, self.spec.sample_rate))

    def to_wave(self, samples: np.ndarray, file_rate: int) -> torch.Tensor:
        return resample(samples, file_rate, self.spec.sample_rate)

    def crops(self, wave: torch.Tensor, window: int, starts: list[int]) -> torch.Tensor:
        return torch.stack([fit_length(wave, window, start) for start in starts])

    def features(self, crops: torch.Tensor) -> torch.Tensor:
        """Windows ``[n, samples]`` (on the device) as normalised features, as in training (the
        windows themselves for a waveform input)."""
        return self.spec.features.normalise(self.front_end(crops))

    @torch.no_grad()
    def score_windows(self, crops: torch.Tensor, batch_size: int = 32) -> list[float]:
        scores = []
        for start in range(0, len(crops), batch_size):
            batch = self.features(crops[start : start + batch_size].to(self.device))
            logits = self.network(self.spec.representation.batch(batch))
            scores += self.model.score(logits.double().cpu().numpy()).tolist()
        return scores
