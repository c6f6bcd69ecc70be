"""Random generator states saved with every checkpoint, so a resumed fit continues exactly as
an uninterrupted one would (with ``--trainer.deterministic true`` on CPU)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class RandomState(Callback):
    """Checkpoints Python's, NumPy's and torch's generators (as plain tensors and lists, so the
    checkpoint still loads with ``weights_only=True``) and restores them on resume."""

    def state_dict(self) -> dict[str, Any]:
        kind, keys, position, has_gauss, gauss = np.random.get_state()
        version, python_state, python_gauss = random.getstate()
        state = {
            "torch": torch.get_rng_state(),
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
            "python": [version, list(python_state), python_gauss],
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def __init__(self) -> None:
        self.pending: dict[str, Any] | None = None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # Applied when training resumes, after the sanity check and loader set-up have drawn
        # from the generators as a fresh run does, so the next epoch draws what it would have.
        self.pending = state

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.pending is not None:
            self._restore(self.pending)
            self.pending = None

    @staticmethod
    def _restore(state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        kind, keys, position, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
        version, python_state, python_gauss = state["python"]
        random.setstate((version, tuple(python_state), python_gauss))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
