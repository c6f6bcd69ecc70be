"""Evaluation beyond the per-stage metrics: score files, thresholds, breakdowns, comparisons."""

from deepfake_audio.evaluate.report import TestReport

__all__ = ["TestReport"]
