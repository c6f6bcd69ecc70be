"""kNN edges on hand-made graphs."""

from __future__ import annotations

import pytest
import torch

from deepfake_audio.features.graph import collate_graphs, knn_edges

# Four nodes on a line at 0, 1, 3 and 10.
LINE = torch.tensor([[0.0], [1.0], [3.0], [10.0]])


def edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(s), int(t)) for s, t in edge_index.T}


def test_nearest_neighbour_of_each_node():
    # (neighbour, node): 0 <- 1, 1 <- 0, 2 <- 1, 3 <- 2.
    assert edge_set(knn_edges(LINE.unsqueeze(0), k=1)) == {(1, 0), (0, 1), (1, 2), (2, 3)}


def test_two_nearest_neighbours_exclude_the_node_itself():
    expected = {(1, 0), (2, 0), (0, 1), (2, 1), (1, 2), (0, 2), (2, 3), (1, 3)}
    assert edge_set(knn_edges(LINE.unsqueeze(0), k=2)) == expected


def test_batched_graphs_are_offset():
    edges = knn_edges(torch.stack([LINE, LINE]), k=1)
    assert edge_set(edges) == {(1, 0), (0, 1), (1, 2), (2, 3), (5, 4), (4, 5), (5, 6), (6, 7)}


def test_k_must_leave_a_neighbour():
    with pytest.raises(ValueError, match="k must be"):
        knn_edges(LINE.unsqueeze(0), k=4)


def test_collate_builds_one_pyg_batch():
    items = [(torch.randn(6, 3), torch.tensor(1.0), 7), (torch.randn(6, 3), torch.tensor(0.0), 3)]
    graphs, labels, indices = collate_graphs(items, k=2)
    assert graphs.num_graphs == 2
    assert graphs.x.shape == (12, 3)
    assert graphs.edge_index.shape == (2, 24)
    assert graphs.batch.tolist() == [0] * 6 + [1] * 6
    assert labels.tolist() == [1.0, 0.0]
    assert indices.tolist() == [7, 3]
