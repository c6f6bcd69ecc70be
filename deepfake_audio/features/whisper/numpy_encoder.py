"""Whisper's log-mel and encoder in numpy, for the ONNX backend (no torch): the same contract
as :mod:`.encoder`, tested as one."""

from __future__ import annotations

import numpy as np
from scipy.special import erf

from deepfake_audio.features.whisper import HOP, N_FFT, WhisperFeatures, mel_filters
from deepfake_audio.features.whisper.weights import MODELS, encoder_weights


def log_mel(windows: np.ndarray) -> np.ndarray:
    """:class:`~.encoder.WhisperLogMel` of ``[n, samples]``: ``[n, 80, samples // 160]``."""
    padded = np.pad(windows, ((0, 0), (N_FFT // 2, N_FFT // 2)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=-1)[:, ::HOP]
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * hann, axis=-1)) ** 2
    energies = np.log10(np.maximum(power[:, :-1] @ mel_filters(), 1e-10))
    energies = np.maximum(energies, energies.max(axis=(1, 2), keepdims=True) - 8.0)
    return ((energies + 4.0) / 4.0).transpose(0, 2, 1).astype(np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    # Python floats, not numpy scalars: a float64 scalar would turn the arrays into float64.
    return 0.5 * x * (1.0 + erf(x * 0.5**0.5))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-5) * gamma + beta


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """A kernel-3 convolution with one step of zero padding: ``[n, in, t]`` to ``[n, t', out]``."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    taps = np.lib.stride_tricks.sliding_window_view(padded, 3, axis=-1)[:, :, ::stride]
    return np.einsum("nitk,oik->nto", taps, weight, optimize=True) + bias


class NumpyWhisperEncoder:
    """Windows ``[n, samples]`` to the chosen layers' frames ``[n, layers * width, frames]``,
    as :class:`~.encoder.WhisperFrontEnd` computes them."""

    def __init__(self, features: WhisperFeatures) -> None:
        self.features = features
        self.weights = encoder_weights(features.model)
        self.heads = MODELS[features.model].heads

    def _block(self, hidden: np.ndarray, prefix: str) -> np.ndarray:
        w = self.weights
        batch, frames, width = hidden.shape
        attention = f"{prefix}/self_attention"
        normed = _layer_norm(
            hidden, w[f"{attention}/layer_norm/gamma"], w[f"{attention}/layer_norm/beta"]
        )
        qkv = normed @ w[f"{attention}/linear_0/weight"].T + w[f"{attention}/linear_0/bias"]
        # Contiguous heads: numpy multiplies strided stacks of matrices without BLAS.
        heads = qkv.reshape(batch, frames, 3, self.heads, -1).transpose(2, 0, 3, 1, 4)
        query, key, value = np.ascontiguousarray(heads)
        keys = np.ascontiguousarray(key.transpose(0, 1, 3, 2))
        scores = query @ keys / (width // self.heads) ** 0.5
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attended = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, frames, width)
        hidden = hidden + attended @ w[f"{attention}/linear_1/weight"].T
        hidden = hidden + w[f"{attention}/linear_1/bias"]
        ffn = f"{prefix}/ffn"
        normed = _layer_norm(hidden, w[f"{ffn}/layer_norm/gamma"], w[f"{ffn}/layer_norm/beta"])
        inner = _gelu(normed @ w[f"{ffn}/linear_0/weight"].T + w[f"{ffn}/linear_0/bias"])
        return hidden + inner @ w[f"{ffn}/linear_1/weight"].T + w[f"{ffn}/linear_1/bias"]

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        w = self.weights
        mel = log_mel(np.atleast_2d(np.asarray(windows, dtype=np.float32)))
        hidden = _gelu(_conv(mel, w["conv1/weight"], w["conv1/bias"], 1))
        hidden = _gelu(_conv(hidden.transpose(0, 2, 1), w["conv2/weight"], w["conv2/bias"], 2))
        frames = hidden.shape[1]
        layers = [(hidden + w["position_encodings/encodings"][:frames]).astype(np.float32)]
        chosen = self.features.chosen_layers
        blocks = MODELS[self.features.model].blocks
        for index in range(min(max(chosen), blocks)):
            layers.append(self._block(layers[-1], f"layer_{index}").astype(np.float32))
        if max(chosen) == blocks:
            layers[-1] = _layer_norm(layers[-1], w["layer_norm/gamma"], w["layer_norm/beta"])
        stacked = np.concatenate([layers[index] for index in chosen], axis=-1)
        return np.ascontiguousarray(stacked.transpose(0, 2, 1), dtype=np.float32)
