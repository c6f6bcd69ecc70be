"""Ensembles of networks trained side by side, each on its own loss."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, build_network, register_network

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec


@register_network
class EnsembleNetwork(Network):
    """Several networks, each with its own initial weights; the logit is the mean of theirs.
    Trained on one loss per member (:meth:`member_logits`), they stay independent models whose
    errors partly cancel, which steadies a small detector's scores on attacks it has never
    seen. Members may differ (e.g. in the features they read)."""

    def __init__(self, networks: list[Network]) -> None:
        if len(networks) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(networks)}")
        super().__init__()
        self.members = nn.ModuleList(networks)

    def recorded(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"member": arguments["networks"]}  # one config per member

    @classmethod
    def example(cls, input_shape: list[int]) -> EnsembleNetwork:
        from deepfake_audio.models.networks.tdnn import TDNNNetwork

        return cls([TDNNNetwork(input_shape, channels=8), TDNNNetwork(input_shape, channels=8)])

    @classmethod
    def from_config(cls, init_args: dict[str, Any]) -> EnsembleNetwork:
        """``member``: one config per member."""
        return cls([build_network(config) for config in init_args["member"]])

    def parameter_groups(self) -> list[dict[str, Any]]:
        return [group for member in self.members for group in member.parameter_groups()]

    def check_input(self, spec: InputSpec) -> None:
        for member in self.members:
            member.check_input(spec)

    def member_logits(self, inputs: Any) -> torch.Tensor:
        return torch.stack([member(inputs) for member in self.members], dim=-1)

    def forward(self, inputs: Any) -> torch.Tensor:
        return self.member_logits(inputs).mean(dim=-1)
