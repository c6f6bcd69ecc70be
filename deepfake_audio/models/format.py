"""The model format: what a checkpoint's ``deepfake_audio`` entry and a package's
``config.json`` hold besides the weights, with its version and the migrations from older ones.

Format 1 (unversioned) named networks ``deepfake_audio.models.networks.<Class>`` with their own
input-size arguments (``in_chans``, ``in_features``, ``input_size``) and stored the input as
``{"features": ..., "representation": "image", "channels": 3}``. Format 2 names each network's
family module, builds every network from ``input_shape``, and stores the input as
``{"sample_rate", "window_samples", "representation", "features"}`` (features None for a
waveform input, spectral without a ``kind``, Whisper's last layer alone). Format 3 stores an
:class:`~deepfake_audio.features.InputSpec`: the front end's settings (the waveform's as the
identity front end's, a Whisper front end's with its layers) and the representation. The
weights' keys are the same in all three.
"""

from __future__ import annotations

from typing import Any

from deepfake_audio.features import InputSpec, Representation, SpectralFeatures
from deepfake_audio.features.whisper.weights import MODELS as WHISPER_MODELS

FORMAT_VERSION = 3
_SIZE_ARGUMENTS = ("in_chans", "in_features", "input_size")  # format 1's, now input_shape
_FORMAT_1_FAMILIES = {  # format 1's networks and the family module each moved to
    "TimmNetwork": "cnn",
    "GCNNetwork": "gcn",
    "RecurrentNetwork": "recurrent",
    "TDNNNetwork": "tdnn",
    "DartsNetwork": "darts",
    "SearchNetwork": "darts",
    "EnsembleNetwork": "ensemble",
}


class FormatError(ValueError):
    """A model whose format this version cannot read, with what to do about it."""


def stamp_checkpoint(checkpoint: dict[str, Any], network: dict[str, Any], spec: InputSpec) -> None:
    """Store the network config and the input spec in a Lightning checkpoint."""
    checkpoint["deepfake_audio"] = model_entry(network, spec)


def model_entry(network: dict[str, Any], spec: InputSpec) -> dict[str, Any]:
    """A model's description in the current format."""
    return {"format_version": FORMAT_VERSION, "network": network, "input": spec.to_dict()}


def migrate(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """A model description (a checkpoint's ``deepfake_audio`` entry or a package config) in
    the current format; :class:`FormatError` for a format this version cannot read."""
    version = entry.get("format_version", 1)
    if not isinstance(version, int) or version < 1:
        raise FormatError(f"{where}: unknown model format {version!r}")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{where}: model format {version} is newer than this deepfake-audio reads "
            f"({FORMAT_VERSION}); upgrade deepfake-audio"
        )
    if version == 1:
        entry = _from_format_1(entry)
    elif version == 2:
        entry = {**entry, "format_version": FORMAT_VERSION, "input": _input_from_format_2(entry)}
    return entry


def migrate_checkpoint(checkpoint: dict[str, Any], where: str = "checkpoint") -> None:
    """Bring a Lightning checkpoint's own entries to the current format, in place."""
    stored = checkpoint.get("deepfake_audio")
    if stored is None:
        raise FormatError(
            f"{where}: not a deepfake-audio checkpoint, or one older than model format 1 "
            "(no 'deepfake_audio' entry); retrain it with this version"
        )
    checkpoint["deepfake_audio"] = migrate(stored, where)
    # Checkpoints written before thresholds and calibrations were stored: 0.5, the identity.
    checkpoint["state_dict"].setdefault("threshold", _tensor(0.5))
    checkpoint["state_dict"].setdefault("calibration", _tensor([1.0, 0.0]))


def _from_format_1(entry: dict[str, Any]) -> dict[str, Any]:
    stored = dict(entry["input"])
    features = SpectralFeatures(**stored.pop("features"))
    representation = Representation.from_dict({"name": stored.pop("representation"), **stored})
    spec = InputSpec(features, representation)
    network = _network_from_format_1(entry["network"], spec.input_shape)
    return {**entry, **model_entry(network, spec)}


def _input_from_format_2(entry: dict[str, Any]) -> dict[str, Any]:
    """A format 2 input as a format 3 :class:`InputSpec` dict."""
    stored = entry["input"]
    features = stored.get("features")
    if features is None:
        features = {
            "kind": "waveform",
            "window_samples": stored["window_samples"],
            "sample_rate": stored["sample_rate"],
        }
    elif features.get("kind", "spectral") == "spectral":
        features = {**features, "kind": "spectral"}
    elif features["kind"] == "whisper":  # its last layer, standardised per window
        last = WHISPER_MODELS[features["model"]].blocks
        features = {**features, "layers": [last], "standardised": True}
    return {"features": features, "representation": stored["representation"]}


def _network_from_format_1(config: dict[str, Any], input_shape: list[int]) -> dict[str, Any]:
    name = config["class_path"].rpartition(".")[2]
    if name not in _FORMAT_1_FAMILIES:
        raise FormatError(f"{config['class_path']!r} is not a format 1 network")
    arguments = dict(config["init_args"])
    if name == "EnsembleNetwork":
        member, count = arguments["member"], arguments.get("members")
        members = member if isinstance(member, list) else [member] * count
        arguments = {"member": [_network_from_format_1(m, input_shape) for m in members]}
    else:
        arguments = {
            "input_shape": list(input_shape),
            **{key: value for key, value in arguments.items() if key not in _SIZE_ARGUMENTS},
        }
    path = f"deepfake_audio.models.networks.{_FORMAT_1_FAMILIES[name]}.{name}"
    return {"class_path": path, "init_args": arguments}


# Format 1's detector classes, one per architecture: the network each built and its arguments.
_FORMAT_1_DETECTORS = {
    "TimmDetector": ("cnn.TimmNetwork", ("backbone", "pretrained", "drop_rate"), {}),
    "GCNDetector": ("gcn.GCNNetwork", ("hidden_size",), {}),
    "LSTMDetector": ("recurrent.RecurrentNetwork", ("hidden_size", "num_layers"), {"cell": "lstm"}),
    "TDNNDetector": ("tdnn.TDNNNetwork", ("channels", "dilations", "dropout"), {}),
    "DartsDetector": ("darts.DartsNetwork", ("genotype", "channels", "cells"), {}),
    "DartsSearch": (
        "darts.SearchNetwork",
        ("channels", "cells", "nodes", "partial", "operations"),
        {},
    ),
}


def migrate_hyperparameters(hparams: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's saved detector arguments (``hyper_parameters``) in the current form: a
    format 1 detector class (``TimmDetector``, ``TDNNDetector``, ...) becomes the
    :class:`~deepfake_audio.models.Detector` (or ``DartsSearch``) with its network."""
    name = str(hparams.get("_class_path", "")).rpartition(".")[2]
    if name not in _FORMAT_1_DETECTORS or "network" in hparams:
        return hparams
    network, own, fixed = _FORMAT_1_DETECTORS[name]
    rest = {key: value for key, value in hparams.items() if key not in own}
    arguments = {key: hparams[key] for key in own if key in hparams} | fixed
    features = rest.pop("member_features", None)
    if features is not None:
        rest["member_args"] = [
            {} if count is None else {"used_features": count} for count in features
        ]
    detector = "DartsSearch" if name == "DartsSearch" else "Detector"
    rest["_class_path"] = f"deepfake_audio.models.{detector}"
    rest["network"] = {
        "class_path": f"deepfake_audio.models.networks.{network}",
        "init_args": arguments,
    }
    return rest


def _tensor(value: Any) -> Any:
    import torch

    return torch.tensor(value)
