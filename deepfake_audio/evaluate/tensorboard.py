"""TensorBoard extras: validation ROC and confusion matrix, example inputs, HPARAMS, and the
architecture weights of a DARTS search."""

from __future__ import annotations

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger

from deepfake_audio.evaluate.plots import alpha_heatmap, confusion_figure, plt, roc_figure
from deepfake_audio.evaluate.report import ScoreCollector


def _tensorboard(trainer: Trainer) -> TensorBoardLogger | None:
    return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)


class ValidationFigures(ScoreCollector):
    """After each validation: ROC curve and confusion matrices (at 0.5 and at the validation
    EER threshold) as TensorBoard images; once, after the first validation, a few example
    inputs per class (later validations read the same clips); at the end of fitting, the
    hyper-parameters with the best and final validation metrics (HPARAMS tab)."""

    def __init__(self, examples_per_class: int = 2) -> None:
        self.examples_per_class = examples_per_class
        self.examples: dict[int, list[torch.Tensor]] = {0: [], 1: []}
        self.examples_shown = False

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.examples, self.examples_shown = {0: [], 1: []}, False

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.reset()

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: torch.Tensor,
        batch: tuple,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self.collect(outputs, batch)
        if self.examples_shown or trainer.sanity_checking:
            return
        representation = trainer.datamodule.input_spec.representation
        for item, label in enumerate(batch[1].int().tolist()):
            if len(self.examples[label]) < self.examples_per_class:
                rows = representation.rows(batch[0], item)
                self.examples[label].append(rows.detach().cpu())

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        clips = getattr(trainer.datamodule, "clips", {}).get("val")
        if trainer.sanity_checking or not self.scores or not clips or not _tensorboard(trainer):
            return
        scored = self.scored(pl_module, clips)
        if not trainer.is_global_zero:
            return
        thresholds = {"at 0.5": 0.5, "at val EER threshold": float(pl_module.threshold)}
        figures = {
            "val/roc": roc_figure({"validation": scored}),
            "val/confusion": confusion_figure({name: scored for name in thresholds}, thresholds),
        }
        shown = [
            (n, s) for label, n in ((1, "bona fide"), (0, "spoof")) for s in self.examples[label]
        ]
        if shown and not self.examples_shown:
            figures["val/examples"] = self._examples_figure(shown)
            self.examples_shown = True
        writer = _tensorboard(trainer).experiment
        for tag, figure in figures.items():
            writer.add_figure(tag, figure, global_step=trainer.global_step)
            plt.close(figure)

    @staticmethod
    def _examples_figure(shown: list[tuple[str, torch.Tensor]]):
        figure, grid = plt.subplots(1, len(shown), figsize=(3 * len(shown), 2.6), squeeze=False)
        for panel, (name, spectrogram) in zip(grid[0], shown, strict=True):
            panel.imshow(spectrogram.float().numpy(), origin="lower", aspect="auto", cmap="magma")
            panel.set(title=name, xlabel="frame", ylabel="feature row")
        figure.tight_layout()
        return figure

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        logger = _tensorboard(trainer)
        if logger is None or not trainer.is_global_zero:
            return
        final = {
            f"hp/{name.replace('/', '_')}": float(value)
            for name, value in trainer.callback_metrics.items()
            if name.startswith("val/")
        }
        best = getattr(trainer.checkpoint_callback, "best_model_score", None)
        if best is not None:
            final["hp/best_val_eer"] = float(best)
        logger.log_hyperparams(pl_module.hparams, metrics=final)


class SearchFigures(Callback):
    """After each training epoch of an architecture search, a heat map of the operation weights
    (softmax α) per edge, each labelled with its normalised β (``search/alpha``)."""

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        network = pl_module.network
        logger = _tensorboard(trainer)
        if not hasattr(network, "edge_weights") or logger is None or not trainer.is_global_zero:
            return
        figure = alpha_heatmap(
            network.edge_weights().detach().cpu(),
            network.node_weights().detach().cpu(),
            network.edge_names(),
            network.operations,
        )
        logger.experiment.add_figure("search/alpha", figure, global_step=trainer.global_step)
        plt.close(figure)
