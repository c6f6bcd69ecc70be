"""Detectors: one base LightningModule and thin architectures over plain torch networks.

The detectors load lazily, so that inference code importing ``deepfake_audio.models.networks``
does not pay for Lightning.
"""

from importlib import import_module

_LAZY = {
    "Detector": "deepfake_audio.models.base",
    "GCNDetector": "deepfake_audio.models.gnn",
    "DartsDetector": "deepfake_audio.models.recurrent",
    "LSTMDetector": "deepfake_audio.models.recurrent",
    "TimmDetector": "deepfake_audio.models.timm_detector",
}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
