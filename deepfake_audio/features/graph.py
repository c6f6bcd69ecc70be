"""k-nearest-neighbour graphs over feature frames, built in plain torch and batched for PyG."""

from __future__ import annotations

import warnings

import torch

with warnings.catch_warnings():  # PyG's import-time torch.jit deprecation notice: not ours
    warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated")
    from torch_geometric.data import Batch


def knn_edges(nodes: torch.Tensor, k: int) -> torch.Tensor:
    """Edges from each node's k nearest other nodes (Euclidean) to it.

    ``nodes`` is ``[graphs, nodes, features]``; returns ``edge_index [2, graphs * nodes * k]`` with
    node ids offset per graph, as in a PyG batch. Row 0 holds the neighbour, row 1 the node.
    """
    graphs, count, _ = nodes.shape
    if not 0 < k < count:
        raise ValueError(f"k must be in [1, {count - 1}] for graphs of {count} nodes, got {k}")
    distance = torch.cdist(nodes, nodes)
    distance.diagonal(dim1=1, dim2=2).fill_(float("inf"))
    neighbours = distance.topk(k, dim=-1, largest=False).indices
    offsets = torch.arange(graphs, device=nodes.device).view(-1, 1, 1) * count
    source = (neighbours + offsets).reshape(-1)
    target = torch.arange(count, device=nodes.device).view(1, -1, 1) + offsets
    target = target.expand(graphs, count, k).reshape(-1)
    return torch.stack([source, target])


def graph_batch(nodes: torch.Tensor, k: int) -> Batch:
    """``[graphs, nodes, features]`` as one PyG batch with kNN edges."""
    graphs, count, width = nodes.shape
    return Batch(
        x=nodes.reshape(graphs * count, width),
        edge_index=knn_edges(nodes, k),
        batch=torch.arange(graphs, device=nodes.device).repeat_interleave(count),
        ptr=torch.arange(graphs + 1, device=nodes.device) * count,
    )


def collate_graphs(
    items: list[tuple[torch.Tensor, torch.Tensor, int]], k: int
) -> tuple[Batch, torch.Tensor, torch.Tensor]:
    """Stack ``([frames, n_mels], label, index)`` items into one PyG batch with kNN edges."""
    nodes = torch.stack([item[0] for item in items])
    labels = torch.stack([item[1] for item in items])
    indices = torch.tensor([item[2] for item in items])
    return graph_batch(nodes, k), labels, indices
