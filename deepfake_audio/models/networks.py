"""The plain torch networks behind the detectors: one logit per input, no Lightning.

An exported model is rebuilt from one of these classes and its ``init_args`` alone, so every
network records them in :attr:`config`. Heavy libraries (timm, PyG) load only when needed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepfake_audio.models.cells import Cell, CellStack, MixedEdge
from deepfake_audio.models.genotypes import Genotype, derive_genotype, load_genotype
from deepfake_audio.models.operations import OPERATIONS


class Network(nn.Module):
    """Base class: remembers how it was built, so it can be rebuilt from JSON."""

    def __init__(self, **init_args: Any) -> None:
        super().__init__()
        self.config = type(self).describe(**init_args)

    @classmethod
    def describe(cls, **init_args: Any) -> dict[str, Any]:
        """The :attr:`config` of this class built with ``init_args``, without building it."""
        return {"class_path": f"{__name__}.{cls.__name__}", "init_args": init_args}

    def member_logits(self, inputs: Any) -> torch.Tensor:
        """``[batch, members]`` logits, one column per independently trained member: a single
        network is one member (see :class:`EnsembleNetwork`)."""
        return self(inputs)[:, None]


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
    """A batch-first LSTM or GRU (``cell``) over ``[batch, frames, n_mels]``; its last state is
    classified."""

    def __init__(
        self, input_size: int, hidden_size: int = 32, cell: str = "lstm", num_layers: int = 1
    ) -> None:
        super().__init__(
            input_size=input_size, hidden_size=hidden_size, cell=cell, num_layers=num_layers
        )
        kinds = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in kinds:
            raise ValueError(f"unknown recurrent cell {cell!r}: use one of {sorted(kinds)}")
        self.recurrence = kinds[cell](input_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.recurrence(frames)
        return self.head(outputs[:, -1]).reshape(-1)


def _conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1
) -> nn.Sequential:
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
    )


class TDNNNetwork(Network):
    """A time-delay network on ``[batch, frames, bands]``: the bands are the channels of 1-D
    convolutions along time (5 frames, then residual blocks of a dilated 3-frame and a 1x1
    convolution per dilation), and mean and standard deviation over time feed one linear
    output, as in x-vector embeddings. ``used_features`` < ``in_features`` reads only the first
    values of each frame (e.g. the cepstral block, not the phase rows after it)."""

    def __init__(
        self,
        in_features: int,
        channels: int = 64,
        dilations: list[int] | None = None,
        dropout: float = 0.0,
        used_features: int | None = None,
    ) -> None:
        dilations = list(dilations or [1, 2, 3, 4])
        super().__init__(
            in_features=in_features,
            channels=channels,
            dilations=dilations,
            dropout=dropout,
            used_features=used_features,
        )
        self.used_features = in_features if used_features is None else used_features
        if not 0 < self.used_features <= in_features:
            raise ValueError(
                f"used_features must be 1 to the {in_features} values of a frame, "
                f"got {used_features}"
            )
        self.stem = _conv_bn_relu(self.used_features, channels, 5)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                _conv_bn_relu(channels, channels, 3, d), _conv_bn_relu(channels, channels, 1)
            )
            for d in dilations
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * channels, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        hidden = self.stem(frames[..., : self.used_features].transpose(1, 2))
        for block in self.blocks:
            hidden = hidden + block(hidden)
        std, mean = torch.std_mean(hidden, dim=-1)
        return self.head(self.dropout(torch.cat([mean, std], dim=-1))).reshape(-1)


class DartsNetwork(Network):
    """The network derived from a DARTS search: ``cells`` temporal cells whose edges are the
    operations of ``genotype`` (:meth:`~.genotypes.Genotype.to_dict` data) on
    ``[batch, frames, n_mels]``."""

    def __init__(
        self, input_size: int, genotype: dict[str, Any], channels: int = 32, cells: int = 2
    ) -> None:
        super().__init__(input_size=input_size, genotype=genotype, channels=channels, cells=cells)
        nodes = load_genotype(genotype).nodes
        edges = [operation for node in nodes for operation, _ in node]
        sources = [[source for _, source in node] for node in nodes]

        def cell() -> Cell:
            return Cell(channels, sources, lambda k: OPERATIONS[edges[k]](channels))

        self.body = CellStack(input_size, channels, cells, cell)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.body(frames)


class SearchNetwork(Network):
    """The DARTS search's supernet: cells of ``nodes`` intermediate nodes, each taking every
    preceding node through a PC-DARTS :class:`~.cells.MixedEdge` over ``operations``.

    The architecture parameters, shared by all cells, are ``alphas`` (one row of operation
    weights per edge) and ``betas`` (one weight per edge, normalised over each node's edges).
    """

    def __init__(
        self,
        input_size: int,
        channels: int = 16,
        cells: int = 1,
        nodes: int = 4,
        partial: int = 4,
        operations: list[str] | None = None,
    ) -> None:
        operations = list(operations or OPERATIONS)
        super().__init__(
            input_size=input_size,
            channels=channels,
            cells=cells,
            nodes=nodes,
            partial=partial,
            operations=operations,
        )
        unknown = sorted(set(operations) - set(OPERATIONS))
        if unknown:
            raise ValueError(f"unknown operations {unknown}; known: {sorted(OPERATIONS)}")
        self.operations = operations
        self.sources = [list(range(node)) for node in range(1, nodes + 1)]

        def cell() -> Cell:
            return Cell(channels, self.sources, lambda k: MixedEdge(channels, operations, partial))

        self.body = CellStack(input_size, channels, cells, cell)
        edges = sum(map(len, self.sources))
        self.alphas = nn.Parameter(1e-3 * torch.randn(edges, len(operations)))
        self.betas = nn.Parameter(1e-3 * torch.randn(edges))

    def architecture_parameters(self) -> list[nn.Parameter]:
        return [self.alphas, self.betas]

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.body.parameters())

    def edge_weights(self) -> torch.Tensor:
        """``[edges, operations]``: softmax over each edge's operations."""
        return self.alphas.softmax(dim=-1)

    def node_weights(self) -> torch.Tensor:
        """``[edges]``: softmax of the betas over the edges into each node."""
        sizes = list(map(len, self.sources))
        return torch.cat([part.softmax(dim=0) for part in self.betas.split(sizes)])

    def edge_names(self) -> list[str]:
        """``"source->node"`` for every edge, in order."""
        return [f"{s}->{n}" for n, sources in enumerate(self.sources, start=1) for s in sources]

    def genotype(self, top_k: int = 2) -> Genotype:
        """The discrete cell the architecture parameters currently pick."""
        with torch.no_grad():
            return derive_genotype(
                self.operations, self.sources, self.edge_weights(), self.node_weights(), top_k
            )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.body(frames, self.edge_weights(), self.node_weights())


class EnsembleNetwork(Network):
    """Several networks, each with its own initial weights; the logit is the mean of theirs.
    ``member`` is one network config (a :attr:`Network.config`) built ``members`` times, or a
    list of configs, one per member, so that members may differ (e.g. in the features they
    read). Trained on one loss per member (:meth:`member_logits`), they stay independent models
    whose errors partly cancel, which steadies a small detector's scores on attacks it has
    never seen."""

    def __init__(
        self, member: dict[str, Any] | list[dict[str, Any]], members: int | None = None
    ) -> None:
        if isinstance(member, list):
            if members not in (None, len(member)):
                raise ValueError(f"members is {members} but {len(member)} configs are given")
            configs = member
        elif members is None:
            raise ValueError("members is required with a single member config")
        else:
            configs = [member] * members
        if len(configs) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(configs)}")
        super().__init__(member=member, members=members)
        self.members = nn.ModuleList(build_network(config) for config in configs)

    def member_logits(self, inputs: Any) -> torch.Tensor:
        return torch.stack([member(inputs) for member in self.members], dim=-1)

    def forward(self, inputs: Any) -> torch.Tensor:
        return self.member_logits(inputs).mean(dim=-1)


def ensemble(configs: list[dict[str, Any]]) -> Network:
    """The network of a single config, else an :class:`EnsembleNetwork` of one member per
    config (at least one: callers check their member count)."""
    return build_network(configs[0]) if len(configs) == 1 else EnsembleNetwork(configs)


def build_network(config: dict[str, Any]) -> Network:
    """Rebuild a network from its :attr:`Network.config`; only classes of this module qualify,
    so a model file can name nothing else to run."""
    module, _, name = config["class_path"].rpartition(".")
    network = globals().get(name) if module == __name__ else None
    if not (isinstance(network, type) and issubclass(network, Network)):
        raise ValueError(f"{config['class_path']!r} is not a deepfake_audio network")
    return network(**config["init_args"])
