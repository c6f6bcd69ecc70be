"""The detector: a network (or an ensemble of them) trained with BCE, its metrics, optimiser
and validation threshold. One LightningModule serves every network in the registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from torchmetrics import CatMetric
from torchmetrics.classification import BinaryROC

from deepfake_audio.models.calibration import IDENTITY, calibrated, fit_platt
from deepfake_audio.models.format import migrate_checkpoint, stamp_checkpoint
from deepfake_audio.models.metrics import detection_metrics
from deepfake_audio.models.networks import Network, NetworkFactory
from deepfake_audio.models.networks.ensemble import EnsembleNetwork

Batch = tuple[Any, torch.Tensor, torch.Tensor]  # (inputs, labels, indices into the split)
COLLAPSE_PATIENCE = 3  # one-class validations in a row before the collapse warning


class Detector(LightningModule):
    """Trains ``network``, built for ``input_shape`` (one input's shape, linked from the
    DataModule by the CLI): ``forward`` returns one logit per input, higher for bona fide, and
    :meth:`score` its calibrated P(bona fide).

    ``members`` > 1 trains that many networks side by side, each from its own initial weights
    and on its own loss, and averages their logits (:class:`~.networks.ensemble.EnsembleNetwork`);
    ``member_args`` gives each member's own network arguments (e.g. ``used_features``), so that
    members that see different features err on different clips.
    ``balanced_loss`` weighs the bona fide class by n_spoof / n_bona_fide of the training items
    (spoofs made from bona fide crops included), so that neither class dominates the loss.
    ``balance_groups`` (``source`` or ``corpus``) weighs each training clip by one over the clips
    of its group and label, so that every source's (or corpus's) bona fide clips and its spoofs
    weigh the same: no cue of a whole source (a sample page's recording chain, a corpus's
    bandwidth) predicts the label. A clip without a source counts in its corpus.
    ``margins`` (bona fide, spoof) shift the logits in the loss by their clip's class: bona fide
    clips are pushed above the first, spoofs below the second. On a bounded logit (a scaled
    cosine, e.g. :class:`~.networks.layers.CosineLogit`) margins far apart near its top make the
    bona fide class compact and leave spoofs free: 18 and 4 at scale 20 are the one-class
    softmax's 0.9 and 0.2, which the field reports to hold better on unseen attacks. The
    training and validation metrics then decide at the margins' midpoint instead of logit 0;
    the calibration makes the scores P(bona fide) again.
    After every validation the detector fits a Platt calibration of its logits on the
    validation scores (:mod:`~.calibration`) and the threshold at their EER: both are saved with
    every checkpoint, and the scores of test, predict, detect and serve are calibrated with them.
    Test items may be windows of a clip, so the test metrics are the clips', computed by
    :class:`~deepfake_audio.evaluate.report.TestReport`; ``test/loss`` is per item.
    """

    def __init__(
        self,
        input_shape: list[int],
        network: NetworkFactory,
        members: int = 1,
        member_args: list[dict[str, Any]] | None = None,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
        balance_groups: Literal["corpus", "source"] | None = None,
        margins: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.input_shape = tuple(input_shape)
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.balanced_loss = balanced_loss
        self.balance_groups = balance_groups
        if margins is not None and not margins[0] > margins[1]:
            raise ValueError(f"margins are (bona fide, spoof), the first above: got {margins}")
        self.margins = margins
        self._decision_logit = 0.0 if margins is None else sum(margins) / 2
        self._item_weights: torch.Tensor | None = None  # per training clip, see balance_groups
        self.loss = nn.BCEWithLogitsLoss()
        self.train_metrics = detection_metrics("train/")
        self.val_metrics = detection_metrics("val/")
        self.val_roc = BinaryROC()
        self.val_logits, self.val_labels = CatMetric(), CatMetric()
        # The calibration and the threshold (at the validation EER of the calibrated scores) of
        # the last validation: saved with every checkpoint, so detection and serving reuse the
        # ones chosen on held-out data.
        self.register_buffer("calibration", torch.tensor(IDENTITY))
        self.register_buffer("threshold", torch.tensor(0.5))
        self._one_class_validations = 0
        self.network = self.build(network, members, member_args)

    def build(
        self, network: NetworkFactory, members: int, member_args: list[dict[str, Any]] | None
    ) -> Network:
        """The network, or an ensemble of ``members`` of them."""
        if members < 1:
            raise ValueError(f"members must be at least 1, got {members}")
        arguments = [{}] * members if member_args is None else list(member_args)
        if len(arguments) != members:
            raise ValueError(
                f"member_args has {len(arguments)} entries for {members} members: give one each"
            )
        built = [network(list(self.input_shape), **args) for args in arguments]
        return built[0] if members == 1 else EnsembleNetwork(built)

    def forward(self, inputs: Any) -> torch.Tensor:
        return self.network(inputs)

    def setup(self, stage: str) -> None:
        spec = getattr(getattr(self._trainer, "datamodule", None), "input_spec", None)
        if spec is not None:
            self.network.check_input(spec)
        if stage == "fit" and self.balanced_loss:
            bona_fide, spoof = self.trainer.datamodule.training_class_sizes()
            if not (bona_fide > 0 and spoof > 0):
                raise ValueError("balanced_loss needs both classes in the training split")
            weight = torch.tensor(spoof / bona_fide)
            # Not saved: it belongs to this training split, and checkpoints load without it.
            self.loss.register_buffer("pos_weight", weight, persistent=False)
        if stage == "fit" and self.balance_groups is not None:
            self._item_weights = group_weights(
                self.trainer.datamodule.clips["train"], self.balance_groups
            )

    def _shared_step(self, batch: Batch, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, labels = batch[0], batch[1]
        # One loss per ensemble member keeps the members independent; a single network is one.
        member_logits = self.network.member_logits(inputs)
        targets = labels[:, None].expand_as(member_logits)
        shifted = member_logits
        if self.margins is not None:
            bona_fide_margin, spoof_margin = self.margins
            shifted = member_logits - torch.where(targets > 0.5, bona_fide_margin, spoof_margin)
        if stage == "train" and self._item_weights is not None:
            weights = self._item_weights.to(labels.device)[batch[2]][:, None]
            loss = F.binary_cross_entropy_with_logits(
                shifted, targets, weight=weights, pos_weight=self.loss.pos_weight
            )
        else:
            loss = self.loss(shifted, targets)
        logits = member_logits.mean(dim=-1)
        size = labels.numel()
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=size, sync_dist=stage != "train")
        if stage != "test":  # a test clip may span several items: TestReport scores clips
            metrics = getattr(self, f"{stage}_metrics")
            metrics.update(torch.sigmoid(logits.detach() - self._decision_logit), labels.int())
            self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=size)
        return loss, logits.detach()

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")[0]

    def validation_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        logits = self._shared_step(batch, "val")[1]
        self.val_logits.update(logits)
        self.val_labels.update(batch[1])
        return self.score(logits)  # under the last validation's calibration, as its threshold

    def on_validation_epoch_end(self) -> None:
        collected = self.val_logits.update_count > 0
        if collected and not self.trainer.sanity_checking:
            logits, labels = self.val_logits.compute(), self.val_labels.compute().int()
        self.val_logits.reset()
        self.val_labels.reset()
        if not collected or self.trainer.sanity_checking:
            return
        if len(set(labels.tolist())) < 2:
            return
        self._warn_if_one_class()
        self.calibration.copy_(torch.tensor(fit_platt(logits, labels)))
        self.val_roc.update(self.score(logits), labels)
        false_accept, true_accept, thresholds = self.val_roc.compute()
        self.val_roc.reset()
        index = torch.argmin(((1 - true_accept) - false_accept).abs())
        self.threshold.fill_(float(thresholds[index].clamp(0.0, 1.0)))
        self.log("val/eer_threshold", self.threshold)
        self.log("val/calibration_scale", self.calibration[0])

    def score(self, logits: torch.Tensor) -> torch.Tensor:
        """The calibrated P(bona fide) of logits."""
        return calibrated(logits, self.calibration)

    def _warn_if_one_class(self) -> None:
        """Warn once when every validation prediction at 0.5 has been the same class for
        :data:`COLLAPSE_PATIENCE` validations in a row: a collapsed model whose accuracy is the
        class prior. A healthy start often spends its first epochs on one side."""
        tpr, tnr = (float(self.val_metrics[name].compute()) for name in ("tpr", "tnr"))
        one_class = {tpr, tnr} == {0.0, 1.0}
        self._one_class_validations = (self._one_class_validations + 1) if one_class else 0
        if self._one_class_validations == COLLAPSE_PATIENCE:
            predicted = "bona fide" if tpr == 1.0 else "spoof"
            rank_zero_warn(
                f"epoch {self.current_epoch}: every validation clip has been predicted "
                f"{predicted} (TPR {tpr:.2f}, TNR {tnr:.2f}) for {COLLAPSE_PATIENCE} validations: "
                "the model has collapsed to one class. Try balanced_loss, another learning rate "
                "or more epochs.",
                category=UserWarning,
            )

    def test_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        """Returns the items' scores: :class:`~deepfake_audio.evaluate.report.TestReport` turns
        them into clips' scores and computes the test metrics."""
        return self.score(self._shared_step(batch, "test")[1])

    def predict_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self.score(self(batch[0]))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store what inference needs without Lightning or the training config: the network's
        class and arguments and the DataModule's input spec (see ``deepfake export``)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "input_spec"):
            stamp_checkpoint(checkpoint, self.network.config, datamodule.input_spec)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        migrate_checkpoint(checkpoint)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer(self.network.parameter_groups())
        if self.scheduler is None:
            return optimizer
        scheduler = {"scheduler": self.scheduler(optimizer), "monitor": "val/eer"}
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def group_weights(clips: Sequence[Any], group: str) -> torch.Tensor:
    """One weight per clip, one over the clips of its (group, label) pair, scaled to a mean of
    1: each group's bona fide clips weigh together what its spoofs weigh, and every group alike
    (a clip without the group's attribute counts in its corpus)."""
    keys = [(getattr(clip, group) or clip.corpus, clip.label) for clip in clips]
    counts = Counter(keys)
    weights = torch.tensor([1.0 / counts[key] for key in keys])
    return weights / weights.mean()
