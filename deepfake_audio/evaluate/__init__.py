"""Evaluation beyond the per-stage metrics: score files, thresholds, breakdowns, comparisons."""

from deepfake_audio.evaluate.report import TestReport
from deepfake_audio.evaluate.tensorboard import ValidationFigures

__all__ = ["TestReport", "ValidationFigures"]
