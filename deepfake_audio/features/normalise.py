"""Per-window standardisation, in torch and in numpy: one contract, tested as one
(``tests/test_front_ends.py``). The torch form is imported lazily, so the numpy form runs
without torch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def normalise_utterance(values: torch.Tensor, blocks: Sequence[int] = ()) -> torch.Tensor:
    """Zero mean and unit variance over each window's ``[rows, frames]``; with ``blocks``
    (rows per block, e.g. :attr:`~.base.Features.blocks`), over each block of rows on its own,
    so that values of different kinds and scales (cepstral differences, phase deviations) enter
    the network alike.

    The statistics are taken in float64, so that a constant input (digital silence) becomes
    exact zeros rather than float32 rounding noise blown up by the division.
    """
    import torch

    if len(blocks) > 1:
        parts = values.split(list(blocks), dim=-2)
        return torch.cat([normalise_utterance(part) for part in parts], dim=-2)
    wide = values.double()
    std, mean = torch.std_mean(wide, dim=(-2, -1), keepdim=True)
    return ((wide - mean) / (std + 1e-5)).to(values.dtype)


def normalise_utterance_numpy(values: np.ndarray, blocks: Sequence[int] = ()) -> np.ndarray:
    """:func:`normalise_utterance` of ``[n, rows, frames]`` in numpy."""
    if len(blocks) > 1:
        parts = np.split(values, np.cumsum(blocks)[:-1], axis=-2)
        return np.concatenate([normalise_utterance_numpy(part) for part in parts], axis=-2)
    wide = values.astype(np.float64)
    mean = wide.mean(axis=(-2, -1), keepdims=True)
    std = wide.std(axis=(-2, -1), ddof=1, keepdims=True)
    return ((wide - mean) / (std + 1e-5)).astype(np.float32)
