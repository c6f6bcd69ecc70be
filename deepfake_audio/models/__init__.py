"""Detectors: one base LightningModule and thin architectures over plain torch networks.

The detectors load lazily, so that inference code importing ``deepfake_audio.models.networks``
does not pay for Lightning.
"""

from deepfake_audio.lazy import lazy_attributes

_LAZY = {
    "Detector": "deepfake_audio.models.base",
    "GCNDetector": "deepfake_audio.models.gnn",
    "DartsDetector": "deepfake_audio.models.darts",
    "DartsSearch": "deepfake_audio.models.darts",
    "LSTMDetector": "deepfake_audio.models.recurrent",
    "TDNNDetector": "deepfake_audio.models.tdnn",
    "TimmDetector": "deepfake_audio.models.timm_detector",
}
__all__ = list(_LAZY)

__getattr__ = lazy_attributes(__name__, _LAZY)
