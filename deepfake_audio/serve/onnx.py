"""ONNX export of detector networks, and :class:`OnnxDetector`: scoring without torch.

``deepfake export --onnx`` adds ``model.onnx`` (network input to one logit per window, batch and
frame axes dynamic), ``mel_filters.npy`` (torchaudio's filterbank) and, for cepstral features,
``dct.npy`` to a package; the detector computes the same features with numpy and runs the
network with onnxruntime.
This module imports torch only inside :func:`onnx_files`, which only export calls.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepfake_audio.reading import read_mono
from deepfake_audio.serve.scoring import WindowedDetector
from deepfake_audio.settings import MelFeatures

if TYPE_CHECKING:
    import torch

    from deepfake_audio.serve.inference import ModelSpec

SUPPORTED = ("image", "sequence")
FILES = ("model.onnx", "mel_filters.npy")


def onnx_files(spec: ModelSpec, weights: dict[str, torch.Tensor]) -> dict[str, bytes]:
    """The ONNX files of a package by name; raises ``ValueError`` for graph (GCN) input."""
    representation = spec.input["representation"]
    if representation not in SUPPORTED:
        raise ValueError(
            f"ONNX export supports {' and '.join(SUPPORTED)} input, not {representation!r}: "
            "GCN models score kNN graphs built per window with PyG, which has no ONNX export"
        )
    import torch

    from deepfake_audio.models.networks import build_network

    network = build_network(spec.network)
    network.load_state_dict(weights)
    network.eval()
    features = spec.features
    if representation == "image":
        example = torch.zeros(2, spec.input["channels"], features.frame_size, features.frames)
        frames_axis = 3
    else:
        example = torch.zeros(2, features.frames, features.frame_size)
        frames_axis = 1
    model = io.BytesIO()
    # The TorchScript exporter is deprecated, but exports these networks in about a second;
    # torch.export takes several. Its deprecation and tracer warnings are silenced: the tests
    # check the exported graphs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (example,),
            model,
            input_names=["input"],
            output_names=["logit"],
            dynamic_axes={"input": {0: "batch", frames_axis: "frames"}, "logit": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    front_end = features.front_end()
    files = {"model.onnx": model.getvalue(), "mel_filters.npy": _npy(front_end.mel.fb)}
    if front_end.dct is not None:
        files["dct.npy"] = _npy(front_end.dct)
    return files


def _npy(values: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, values.numpy())
    return buffer.getvalue()


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 waveform at ``sample_rate``, as ``load_audio`` reads it (without torch)."""
    wave, file_rate = read_mono(path)
    return wave if file_rate == sample_rate else resample(wave, file_rate, sample_rate)


def resample(
    wave: np.ndarray, orig: int, new: int, zeros: int = 6, rolloff: float = 0.99
) -> np.ndarray:
    """torchaudio's default resampling (windowed sinc, Hann window) in numpy."""
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    width = math.ceil(zeros * orig / base)
    t = np.arange(-width, width + orig) / orig - np.arange(new)[:, None] / new
    t = np.clip(t * base, -zeros, zeros)
    kernels = np.sinc(t) * np.cos(t * math.pi / zeros / 2) ** 2 * (base / orig)
    padded = np.pad(wave, (width, width + orig))
    blocks = np.lib.stride_tricks.sliding_window_view(padded, kernels.shape[1])[::orig]
    resampled = (blocks @ kernels.T.astype(np.float32)).reshape(-1)
    return resampled[: math.ceil(new * len(wave) / orig)]


def _normalise(values: np.ndarray) -> np.ndarray:
    """``normalise_utterance`` of one block ``[n, frames, rows]``."""
    wide = values.astype(np.float64)
    mean = wide.mean(axis=(1, 2), keepdims=True)
    std = wide.std(axis=(1, 2), ddof=1, keepdims=True)
    return ((wide - mean) / (std + 1e-5)).astype(np.float32)


class OnnxDetector(WindowedDetector):
    """``AudioDetector``'s scoring with ``model.onnx`` on onnxruntime (CPU) and numpy features."""

    def __init__(self, folder: Path, threshold: float | None = None, threads: int = 1) -> None:
        import onnxruntime

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.input: dict[str, Any] = config["input"]
        self.features = MelFeatures(**self.input["features"])
        self.threshold = float(config["threshold"]) if threshold is None else threshold
        self.mel_filters = np.load(folder / "mel_filters.npy")
        self.dct = np.load(folder / "dct.npy") if self.features.cepstra else None
        bins_per_band = self.mel_filters.sum(axis=0).clip(min=1e-10)
        self.band_weights = (self.mel_filters / bins_per_band).astype(np.float32)
        n_fft, hop = self.features.n_fft, self.features.hop_length
        self.bin_advance = (2 * np.pi * hop * np.arange(n_fft // 2 + 1) / n_fft).astype(np.float32)
        self.hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            folder / "model.onnx", options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> OnnxDetector:
        """A package folder exported with ``--onnx``."""
        folder = Path(path)
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{path}: no {', '.join(missing)}; export the package with `deepfake export --onnx`"
            )
        return cls(folder, **options)

    def read(self, path: str | Path) -> np.ndarray:
        return read_audio(path, self.features.sample_rate)

    def to_wave(self, samples: np.ndarray, file_rate: int) -> np.ndarray:
        rate = self.features.sample_rate
        return samples if file_rate == rate else resample(samples, file_rate, rate)

    def crops(self, wave: np.ndarray, window: int, starts: list[int]) -> np.ndarray:
        if len(wave) < window:  # one window, the clip repeated to fill it
            return np.resize(wave, window)[None]
        return np.stack([wave[start : start + window] for start in starts])

    def model_input(self, crops: np.ndarray) -> np.ndarray:
        """Windows ``[n, samples]`` as a batch of network inputs: ``FrontEnd``, then
        ``normalise_utterance``, then ``as_image`` or ``as_frames``."""
        n_fft, hop = self.features.n_fft, self.features.hop_length
        padded = np.pad(crops, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]
        spectrum = np.fft.rfft(frames * self.hann, axis=-1).astype(np.complex64)
        values = np.log(np.abs(spectrum) ** 2 @ self.mel_filters + np.float32(1e-6))
        if self.dct is not None:
            values = values @ self.dct
        orders = [values]
        for _ in range(self.features.deltas):
            orders.append(np.diff(orders[-1], axis=1, prepend=orders[-1][:, :1]))
        rows = orders if self.features.static else orders[1:]
        if self.features.phase:
            rows.append(self.phase_deviation(spectrum) @ self.band_weights)
        blocks = np.split(np.concatenate(rows, axis=-1), np.cumsum(self.features.blocks)[:-1], -1)
        inputs = np.concatenate([_normalise(block) for block in blocks], axis=-1)
        if self.input["representation"] == "image":
            channels = self.input["channels"]
            return np.repeat(inputs.transpose(0, 2, 1)[:, None], channels, axis=1)
        return inputs

    def phase_deviation(self, spectrum: np.ndarray) -> np.ndarray:
        """``FrontEnd.phase_deviation`` on ``[n, frames, bins]``."""
        phase = np.angle(spectrum)
        advance = np.diff(phase, axis=1, prepend=phase[:, :1]) - self.bin_advance
        advance[:, 0] = 0.0
        return np.abs(np.remainder(advance + np.pi, 2 * np.pi) - np.pi) / np.pi

    def score_windows(self, crops: np.ndarray, batch_size: int = 32) -> list[float]:
        scores = []
        for start in range(0, len(crops), batch_size):
            batch = self.model_input(crops[start : start + batch_size])
            (logits,) = self.session.run(None, {"input": batch})
            scores += np.exp(-np.logaddexp(0, -logits)).tolist()  # a sigmoid that never overflows
        return scores
