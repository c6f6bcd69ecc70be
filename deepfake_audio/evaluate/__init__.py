"""Evaluation beyond the per-stage metrics: breakdowns of test results."""

from deepfake_audio.evaluate.breakdown import AttackBreakdown

__all__ = ["AttackBreakdown"]
