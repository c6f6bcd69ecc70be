"""The plain torch networks behind the detectors: one logit per input, no Lightning.

An exported model is rebuilt from one of these classes and its ``init_args`` alone, so every
network records them in :attr:`config`. Heavy libraries (timm, PyG) load only when needed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepfake_audio.models.darts_cell import DartsRecurrence


class Network(nn.Module):
    """Base class: remembers how it was built, so it can be rebuilt from JSON."""

    def __init__(self, **init_args: Any) -> None:
        super().__init__()
        self.config = {"class_path": f"{__name__}.{type(self).__name__}", "init_args": init_args}


class TimmNetwork(Network):
    """Any timm image model by name on ``[batch, channels, n_mels, frames]``."""

    def __init__(
        self, backbone: str, in_chans: int, pretrained: bool = False, drop_rate: float = 0.0
    ) -> None:
        super().__init__(
            backbone=backbone, in_chans=in_chans, pretrained=pretrained, drop_rate=drop_rate
        )
        import timm

        self.model = timm.create_model(
            backbone, pretrained=pretrained, in_chans=in_chans, num_classes=1, drop_rate=drop_rate
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images).reshape(-1)


class GCNNetwork(Network):
    """Two GCN layers over a batch of frame graphs, mean pooling per graph, one linear output."""

    def __init__(self, in_features: int, hidden_size: int = 64) -> None:
        super().__init__(in_features=in_features, hidden_size=hidden_size)
        from torch_geometric.nn import GCNConv

        self.conv1 = GCNConv(in_features, hidden_size)
        self.conv2 = GCNConv(hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, graphs: Any) -> torch.Tensor:
        from torch_geometric.nn import global_mean_pool

        hidden = torch.relu(self.conv1(graphs.x, graphs.edge_index))
        hidden = torch.relu(self.conv2(hidden, graphs.edge_index))
        return self.head(global_mean_pool(hidden, graphs.batch)).reshape(-1)


class RecurrentNetwork(Network):
    """A batch-first recurrence over ``[batch, frames, n_mels]``; its last state is classified.

    ``cell`` is ``lstm`` or ``darts`` (a DARTS recurrent cell given by ``genotype``).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 32,
        cell: str = "lstm",
        num_layers: int = 1,
        genotype: str | None = None,
    ) -> None:
        super().__init__(
            input_size=input_size,
            hidden_size=hidden_size,
            cell=cell,
            num_layers=num_layers,
            genotype=genotype,
        )
        if cell == "lstm":
            self.recurrence = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        elif cell == "darts":
            self.recurrence = DartsRecurrence(input_size, hidden_size, genotype or "darts_v2")
        else:
            raise ValueError(f"unknown recurrent cell {cell!r}: use 'lstm' or 'darts'")
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.recurrence(frames)
        return self.head(outputs[:, -1]).reshape(-1)


def build_network(config: dict[str, Any]) -> Network:
    """Rebuild a network from its :attr:`Network.config`; only classes of this module qualify,
    so a model file can name nothing else to run."""
    module, _, name = config["class_path"].rpartition(".")
    network = globals().get(name) if module == __name__ else None
    if not (isinstance(network, type) and issubclass(network, Network)):
        raise ValueError(f"{config['class_path']!r} is not a deepfake_audio network")
    return network(**config["init_args"])
