"""The DARTS architecture search (PC-DARTS, first order) on frame sequences, as a detector that
trains its supernet's weights and architecture parameters in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch.optim import Optimizer
from torch.utils.data import DataLoader

from deepfake_audio.files import atomic_write_text
from deepfake_audio.models.detector import Batch, Detector
from deepfake_audio.models.networks.darts import SearchNetwork
from deepfake_audio.runs import RunFolder


class DartsSearch(Detector):
    """Differentiable architecture search over temporal cells (DARTS, first-order), with the
    partial channel connections and edge normalisation of PC-DARTS.

    Each training step first updates the architecture parameters (α, β) on the next batch of
    the validation split, then the network weights on the training batch; during the first
    ``warmup_epochs`` only the weights learn. After every epoch the α and β weights go to the
    loggers (scalars, and a heat map in TensorBoard) and the derived genotype (each node's
    ``top_k`` strongest edges) to ``genotype.json`` in the run's log folder (a heat map of
    them is drawn by :class:`~deepfake_audio.evaluate.tensorboard.SearchFigures`).
    """

    network: SearchNetwork

    def __init__(
        self,
        input_shape: list[int],
        network: Callable[[list[int]], SearchNetwork] = SearchNetwork,
        top_k: int = 2,
        warmup_epochs: int = 0,
        architecture_lr: float = 6e-4,
        architecture_weight_decay: float = 1e-3,
        optimizer: OptimizerCallable = torch.optim.Adam,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, network, optimizer=optimizer, balanced_loss=balanced_loss)
        if not isinstance(self.network, SearchNetwork):
            raise ValueError(
                f"the search trains a SearchNetwork, not {type(self.network).__name__}"
            )
        self.automatic_optimization = False
        self._validation_loader: DataLoader | None = None
        self._validation_batches: Iterator[Batch] | None = None

    def configure_optimizers(self) -> list[Optimizer]:
        weights = self.optimizer(self.network.weight_parameters())
        architecture = torch.optim.Adam(
            self.network.architecture_parameters(),
            lr=self.hparams.architecture_lr,
            betas=(0.5, 0.999),
            weight_decay=self.hparams.architecture_weight_decay,
        )
        return [weights, architecture]

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        weights, architecture = self.optimizers()
        if self.current_epoch >= self.hparams.warmup_epochs:
            inputs, labels, _ = self._validation_batch()
            loss = self._descend(architecture, lambda: self.loss(self(inputs), labels))
            self.log("search/architecture_loss", loss, batch_size=labels.numel())
        return self._descend(weights, lambda: self._shared_step(batch, "train")[0])

    def _descend(self, optimizer: Optimizer, loss_of: Callable[[], torch.Tensor]) -> torch.Tensor:
        """One step of ``optimizer`` on the loss; only its parameters get gradients, and they
        are cleared afterwards, so the other step never sees them."""
        with self.toggled_optimizer(optimizer):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_of()
            self.manual_backward(loss)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def _validation_batch(self) -> Batch:
        """The next batch of the validation split (cycling) on the device, never augmented:
        with ``features_on_device`` the DataModule makes its inputs as for validation."""
        datamodule = self.trainer.datamodule
        batch = next(self._validation_batches, None) if self._validation_batches else None
        if batch is None:
            if self._validation_loader is None:
                self._validation_loader = datamodule.val_dataloader()
            self._validation_batches = iter(self._validation_loader)
            batch = next(self._validation_batches)
        batch = self.transfer_batch_to_device(batch, self.device, 0)
        return datamodule.device_inputs(batch, augment=False)

    def on_train_epoch_end(self) -> None:
        edge_weights = self.network.edge_weights().detach().cpu()
        node_weights = self.network.node_weights().detach().cpu()
        edges, operations = self.network.edge_names(), self.network.operations
        logged = {f"beta/{edge}": node_weights[k] for k, edge in enumerate(edges)}
        for k, edge in enumerate(edges):
            logged |= {f"alpha/{edge}/{op}": edge_weights[k, j] for j, op in enumerate(operations)}
        self.log_dict(logged)
        log_dir = self.trainer.log_dir  # a collective call under DDP: every rank asks
        if self.trainer.is_global_zero and log_dir:
            path = RunFolder(Path(log_dir)).genotype
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, self.network.genotype(self.hparams.top_k).to_json())

    def on_fit_end(self) -> None:
        log_dir = self.trainer.log_dir
        if log_dir and RunFolder(Path(log_dir)).genotype.is_file():
            self.print(f"derived genotype: {RunFolder(Path(log_dir)).genotype}")
