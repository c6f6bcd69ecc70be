"""Detectors: one base LightningModule and thin architectures."""

from deepfake_audio.models.base import Detector
from deepfake_audio.models.gnn import GCNDetector
from deepfake_audio.models.recurrent import DartsDetector, LSTMDetector
from deepfake_audio.models.timm_detector import TimmDetector

__all__ = ["DartsDetector", "Detector", "GCNDetector", "LSTMDetector", "TimmDetector"]
