"""The ONNX backend: scoring a package exported with ``--onnx`` on onnxruntime, with the
front end's numpy form, without importing torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deepfake_audio.reading import read_audio, resample
from deepfake_audio.serve.package import read_package_config
from deepfake_audio.serve.scoring import WindowedDetector

MODEL = "model.onnx"


class OnnxDetector(WindowedDetector):
    """``AudioDetector``'s scoring with ``model.onnx`` on onnxruntime (CPU) and the front end's
    numpy form."""

    def __init__(self, folder: Path, threshold: float | None = None, threads: int = 1) -> None:
        import onnxruntime

        model = read_package_config(folder)
        self.model = model
        self.spec = model.input
        self.threshold = model.threshold if threshold is None else threshold
        self.front_end = self.spec.features.numpy_front_end(folder)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            folder / MODEL, options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> OnnxDetector:
        """A package folder exported with ``--onnx``."""
        folder = Path(path)
        needed = [MODEL, *read_package_config(folder).input.features.package_file_names()]
        missing = [name for name in needed if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{path}: no {', '.join(missing)}; export the package with `deepfake export --onnx`"
            )
        return cls(folder, **options)

    def read(self, path: str | Path) -> np.ndarray:
        return self.spec.features.trimmed(read_audio(path, self.spec.sample_rate))

    def to_wave(self, samples: np.ndarray, file_rate: int) -> np.ndarray:
        rate = self.spec.sample_rate
        return samples if file_rate == rate else resample(samples, file_rate, rate)

    def crops(self, wave: np.ndarray, window: int, starts: list[int]) -> np.ndarray:
        if len(wave) < window:  # one window, the clip repeated to fill it
            return np.resize(wave, window)[None]
        return np.stack([wave[start : start + window] for start in starts])

    def model_input(self, crops: np.ndarray) -> np.ndarray:
        """Windows ``[n, samples]`` as a batch of network inputs, as the torch backend makes
        them."""
        features = self.spec.features.normalise_numpy(self.front_end(crops))
        return self.spec.representation.numpy_batch(features)

    def score_windows(self, crops: np.ndarray, batch_size: int = 32) -> list[float]:
        scores = []
        for start in range(0, len(crops), batch_size):
            batch = self.model_input(crops[start : start + batch_size])
            (logits,) = self.session.run(None, {"input": batch})
            scores += self.model.score(logits).tolist()
        return scores
