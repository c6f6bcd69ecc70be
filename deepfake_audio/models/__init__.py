"""Detectors: one LightningModule over the registered plain-torch networks, and the DARTS
search.

The detectors load lazily, so that inference code importing ``deepfake_audio.models.networks``
does not pay for Lightning.
"""

from deepfake_audio.lazy import lazy_attributes

_LAZY = {
    "Detector": "deepfake_audio.models.detector",
    "DartsSearch": "deepfake_audio.models.search",
}
__all__ = list(_LAZY)

__getattr__ = lazy_attributes(__name__, _LAZY)
