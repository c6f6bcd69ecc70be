"""A recurrent cell from the DARTS search space, unrolled over time."""

from __future__ import annotations

import torch
from torch import nn

from deepfake_audio.models.genotypes import load_genotype

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def _highway(state: torch.Tensor, projected: torch.Tensor, activation: str) -> torch.Tensor:
    """``state + gate * (f(candidate) - state)``: the DARTS node update."""
    gate, candidate = projected.chunk(2, dim=-1)
    update = _ACTIVATIONS[activation](candidate) if activation != "identity" else candidate
    return state + torch.sigmoid(gate) * (update - state)


class DartsRecurrence(nn.Module):
    """Batch-first recurrence ``[batch, time, features] -> ([batch, time, hidden], last)``."""

    def __init__(self, input_size: int, hidden_size: int, genotype: str) -> None:
        super().__init__()
        self.genotype = load_genotype(genotype)
        self.hidden_size = hidden_size
        self.entry = nn.Linear(input_size + hidden_size, 2 * hidden_size)
        self.node_layers = nn.ModuleList(
            nn.Linear(hidden_size, 2 * hidden_size, bias=False) for _ in self.genotype.nodes
        )

    def step(self, inputs: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        states = [_highway(hidden, self.entry(torch.cat([inputs, hidden], dim=-1)), "tanh")]
        for layer, (activation, source) in zip(self.node_layers, self.genotype.nodes, strict=True):
            states.append(_highway(states[source], layer(states[source]), activation))
        return torch.stack([states[node] for node in self.genotype.concat]).mean(dim=0)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = frames.new_zeros(frames.shape[0], self.hidden_size)
        outputs = []
        for inputs in frames.unbind(dim=1):
            hidden = self.step(inputs, hidden)
            outputs.append(hidden)
        return torch.stack(outputs, dim=1), hidden
