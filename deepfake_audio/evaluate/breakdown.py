"""Per-attack EER at test time: each attack's spoofs against the whole bona fide pool."""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torchmetrics.functional.classification import binary_eer

from deepfake_audio.data.corpus import Clip


def gather_unique(
    pl_module: LightningModule, scores: torch.Tensor, indices: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """All ranks' scores and clip indices, each clip once (the distributed sampler pads)."""
    if pl_module.trainer.world_size > 1:
        scores = pl_module.all_gather(scores).reshape(-1)
        indices = pl_module.all_gather(indices).reshape(-1)
    unique, first = _first_occurrence(indices)
    return scores[first], unique


def _first_occurrence(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    unique, inverse = torch.unique(values, return_inverse=True)
    positions = torch.arange(values.numel(), device=values.device)
    first = torch.full_like(unique, values.numel()).scatter_reduce(0, inverse, positions, "amin")
    return unique, first


def eer_per_attack(clips: list[Clip], scores: torch.Tensor) -> dict[str, float]:
    """EER of each named attack's spoofs against every bona fide clip."""
    labels = torch.tensor([clip.label for clip in clips])
    bona_fide = labels == 1
    results = {}
    for attack in sorted({clip.attack for clip in clips if clip.attack and not clip.label}):
        chosen = bona_fide | torch.tensor([clip.attack == attack for clip in clips])
        if bona_fide.any():
            results[attack] = float(binary_eer(scores[chosen].float(), labels[chosen]))
    return results


class AttackBreakdown(Callback):
    """Logs ``test/eer/<attack>`` for every attack (generator) the test split names."""

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.scores: list[torch.Tensor] = []
        self.indices: list[torch.Tensor] = []

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: torch.Tensor,
        batch: tuple,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self.scores.append(outputs.detach())
        self.indices.append(batch[2])

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        clips = getattr(trainer.datamodule, "clips", {}).get("test")
        if not clips or not self.scores:
            return
        scores, indices = gather_unique(pl_module, torch.cat(self.scores), torch.cat(self.indices))
        tested = [clips[int(i)] for i in indices.cpu()]
        for attack, eer in eer_per_attack(tested, scores.cpu()).items():
            pl_module.log(f"test/eer/{attack}", eer, rank_zero_only=True)
