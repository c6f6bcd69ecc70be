"""Where the windows of a clip start: shared by inference and whole-clip evaluation."""

from __future__ import annotations


def window_starts(steps: int, window: int, hop: int) -> list[int]:
    """Starts of windows every ``hop`` steps (samples or frames), the last one ending at the
    clip's end; one window (the clip repeated to fill it) when the clip is not longer than a
    window."""
    if steps <= window:
        return [0]
    starts = list(range(0, steps - window + 1, hop))
    if starts[-1] + window < steps:
        starts.append(steps - window)
    return starts
