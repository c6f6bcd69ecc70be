"""The identity front end: the window's samples are the model input (raw-waveform networks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from deepfake_audio.features.base import SAMPLE_RATE, FrontEndSettings, NumpyFrontEnd

if TYPE_CHECKING:
    from torch import nn


def _identity(windows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(windows, dtype=np.float32)


@dataclass(frozen=True)
class WaveformFeatures(FrontEndSettings):
    """``window_samples`` samples at ``sample_rate``, as they are (64,600 at 16 kHz, about 4 s,
    as in the RawNet2 and AASIST papers); a window is ``[samples]``, not ``[rows, frames]``."""

    kind: ClassVar[str] = "waveform"
    standardised: ClassVar[bool] = False
    framed: ClassVar[bool] = False

    window_samples: int = 64_600  # type: ignore[assignment]
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.window_samples < 1:
            raise ValueError(f"window_samples must be positive, got {self.window_samples}")

    @property
    def frames(self) -> int:  # type: ignore[override]
        """One frame per sample."""
        return self.window_samples

    @property
    def blocks(self) -> tuple[int, ...]:
        return ()

    @classmethod
    def example(cls) -> WaveformFeatures:
        return cls(window_samples=8_000)

    def front_end(self) -> nn.Module:
        from torch import nn

        return nn.Identity()

    def numpy_front_end(self, folder: Path | None = None) -> NumpyFrontEnd:
        return _identity

    def describe(self) -> str:
        return "the raw waveform"
