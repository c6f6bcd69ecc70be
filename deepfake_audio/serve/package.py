"""Models as stored: a training checkpoint or an exported package folder, read into one
:class:`ModelSpec` and the network's weights, in the current model format."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepfake_audio.features import InputSpec
from deepfake_audio.models.format import FormatError, migrate, model_entry

if TYPE_CHECKING:
    import torch

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CARD = "README.md"


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the weights that scoring needs, as stored with a model."""

    network: dict[str, Any]
    input: InputSpec
    threshold: float = 0.5
    metadata: dict[str, Any] = field(default_factory=dict)
    calibration: tuple[float, float] = (1.0, 0.0)  # P(bona fide) = sigmoid(a * logit + b)

    @classmethod
    def from_entry(
        cls,
        entry: dict[str, Any],
        where: str,
        threshold: float | None = None,
        calibration: tuple[float, float] | None = None,
    ) -> ModelSpec:
        """The spec of a stored model description, migrated to the current format (a checkpoint
        keeps its threshold and calibration beside it, in its weights)."""
        current = dict(migrate(entry, where))
        current.pop("format_version")
        network, spec = current.pop("network"), InputSpec.from_dict(current.pop("input"))
        stored = current.pop("threshold", 0.5)
        scaling = current.pop("calibration", (1.0, 0.0)) if calibration is None else calibration
        return cls(
            network,
            spec,
            float(stored if threshold is None else threshold),
            current,
            (float(scaling[0]), float(scaling[1])),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **model_entry(self.network, self.input),
            "threshold": self.threshold,
            "calibration": list(self.calibration),
            **self.metadata,
        }

    def score(self, logits: Any) -> Any:
        """Calibrated P(bona fide) of a numpy array of logits (a sigmoid that never
        overflows)."""
        import numpy as np

        a, b = self.calibration
        return np.exp(-np.logaddexp(0, -(a * np.asarray(logits, dtype=np.float64) + b)))


def read_package_config(folder: Path) -> ModelSpec:
    """The spec of an exported package, from its ``config.json`` alone (no torch)."""
    path = folder / CONFIG
    if not path.is_file():
        raise FormatError(f"{folder}: not a model package (no {CONFIG})")
    return ModelSpec.from_entry(json.loads(path.read_text(encoding="utf-8")), str(folder))


def load_checkpoint(path: Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """Spec and network weights of a training checkpoint, loaded with ``weights_only=True``."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file that is no checkpoint
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FormatError(f"{path}: not a readable checkpoint ({reason})") from error
    stored = checkpoint.get("deepfake_audio") if isinstance(checkpoint, dict) else None
    if stored is None:
        raise FormatError(f"{path}: not a deepfake-audio checkpoint (no 'deepfake_audio' entry)")
    state = checkpoint["state_dict"]
    weights = {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}
    threshold = float(state.get("threshold", torch.tensor(0.5)))
    scaling = state.get("calibration", torch.tensor([1.0, 0.0])).tolist()
    return ModelSpec.from_entry(stored, str(path), threshold, tuple(scaling)), weights


def load_package(folder: Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """Spec and weights of an exported package (``config.json`` + ``model.safetensors``)."""
    from safetensors.torch import load_file

    return read_package_config(folder), load_file(folder / WEIGHTS)


def load_model(path: str | Path) -> tuple[ModelSpec, dict[str, torch.Tensor]]:
    """A checkpoint file or an exported package folder."""
    path = Path(path)
    if path.is_dir():
        return load_package(path)
    if path.is_file():
        return load_checkpoint(path)
    raise FileNotFoundError(f"{path}: no such checkpoint or model package")
