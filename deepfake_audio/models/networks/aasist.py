"""AASIST: spectro-temporal graph attention over a sinc-convolution encoder of the waveform.

Jung, Heo, Tak, Shim, Chung, Lee, Yu and Evans, "AASIST: Audio anti-spoofing using integrated
spectro-temporal graph attention networks", ICASSP 2022. A sinc layer and 2-D residual blocks
turn the waveform into a ``channels x spectral bins x frames`` map; its maximum magnitude over
time gives a spectral graph (one node per bin) and over the bins a temporal graph (one node
per frame). Each graph goes through graph attention and graph pooling; the heterogeneous
stacking graph attention layer (HS-GAL) then joins them with type-dependent attention and a
stack node that gathers from every node; the max graph operation (MGO) runs two branches of
two HS-GALs and keeps their element-wise maximum; the readout is the maximum and mean of each
type's nodes and the stack node. AASIST-L is the paper's 85 K-parameter light version.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network
from deepfake_audio.models.sinc import SincConv

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec

#: The paper's sizes: encoder block channels, graph dims (graph attention, then HS-GAL),
#: pooling ratios (spectral, temporal graph; spectral, temporal nodes inside the MGO) and
#: softmax temperatures (spectral, temporal graph attention; first, second HS-GAL).
SIZES: dict[str, dict[str, list[Any]]] = {
    "AASIST": {
        "encoder_channels": [32, 32, 64, 64, 64, 64],
        "gat_dims": [64, 32],
        "pool_ratios": [0.5, 0.7, 0.5, 0.5],
        "temperatures": [2.0, 2.0, 100.0, 100.0],
    },
    "AASIST-L": {
        "encoder_channels": [32, 32, 24, 24, 24, 24],
        "gat_dims": [24, 32],
        "pool_ratios": [0.4, 0.5, 0.7, 0.5],
        "temperatures": [2.0, 2.0, 100.0, 100.0],
    },
}


def _score_vector(*shape: int) -> nn.Parameter:
    """Attention weights that score a projected pair of nodes (Xavier-normal, like a
    ``[dim, 1]`` linear map)."""
    return nn.Parameter(torch.randn(*shape) * math.sqrt(2.0 / (shape[-1] + 1)))


def _norm_nodes(norm: nn.BatchNorm1d, nodes: torch.Tensor) -> torch.Tensor:
    """Batch norm of ``[batch, nodes, dim]`` over the dims."""
    return norm(nodes.transpose(1, 2)).transpose(1, 2)


class EncoderBlock(nn.Module):
    """A 2-D residual block over ``[batch, channels, bins, frames]``: (BN, SELU,) a (2, 3)
    conv, BN, SELU, a (2, 3) conv (paddings that keep the bins), plus the input (a (1, 3) conv
    where the channel count changes), then max pooling by 3 along time. The first block skips
    the leading BN and SELU: the front end has just applied them."""

    def __init__(self, in_channels: int, out_channels: int, first: bool = False) -> None:
        super().__init__()
        self.pre = nn.Identity() if first else nn.Sequential(nn.BatchNorm2d(in_channels), nn.SELU())
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, (2, 3), padding=(1, 1)),
            nn.BatchNorm2d(out_channels),
            nn.SELU(),
            nn.Conv2d(out_channels, out_channels, (2, 3), padding=(0, 1)),
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, (1, 3), padding=(0, 1))
        )
        self.pool = nn.MaxPool2d((1, 3))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(self.pre(maps)) + self.skip(maps))


class GraphAttention(nn.Module):
    """Graph attention over a fully connected graph ``[batch, nodes, in_dim]``: the weight of
    node m for node n is a softmax over m, at ``temperature``, of a learned score of the
    projected element-wise product of the two nodes; each node becomes the projection of its
    weighted neighbourhood plus a projection of itself, batch-normalised, through SELU."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.temperature = temperature
        self.pair = nn.Linear(in_dim, out_dim)
        self.score = _score_vector(out_dim)
        self.aggregate = nn.Linear(in_dim, out_dim)
        self.own = nn.Linear(in_dim, out_dim)
        self.norm = nn.BatchNorm1d(out_dim)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        pairs = torch.tanh(self.pair(nodes.unsqueeze(2) * nodes.unsqueeze(1)))
        weights = torch.softmax(pairs @ self.score / self.temperature, dim=-1)
        updated = self.aggregate(weights @ nodes) + self.own(nodes)
        return F.selu(_norm_nodes(self.norm, updated))


class GraphPool(nn.Module):
    """Graph pooling (Gao and Ji, graph U-Nets): a sigmoid score per node; the ``ratio``
    best-scored nodes (at least one), each scaled by its score, are kept. The count depends on
    the node count only, so a traced graph fixes it at the traced input's length."""

    def __init__(self, dim: int, ratio: float) -> None:
        super().__init__()
        self.ratio = ratio
        self.score = nn.Linear(dim, 1)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(self.score(nodes))
        keep = max(1, int(nodes.shape[1] * self.ratio))
        best = torch.topk(scores.squeeze(-1), keep, dim=1).indices
        return torch.gather(nodes * scores, 1, best.unsqueeze(-1).expand(-1, -1, nodes.shape[2]))


class HeterogeneousGraphAttention(nn.Module):
    """HS-GAL: temporal ``[batch, Nt, in_dim]`` and spectral ``[batch, Ns, in_dim]`` nodes,
    each projected by its own type's map, form one graph whose attention scores use one of
    three score vectors by the pair's types (temporal-temporal, spectral-spectral, mixed). The
    stack node ``[batch, 1, in_dim]`` attends to every node (edges into it only) and is updated
    from them and itself. Returns the temporal nodes, the spectral nodes and the stack node,
    each of ``out_dim``."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.temperature = temperature
        self.temporal_in = nn.Linear(in_dim, in_dim)
        self.spectral_in = nn.Linear(in_dim, in_dim)
        self.pair = nn.Linear(in_dim, out_dim)
        self.scores = _score_vector(3, out_dim)  # temporal-temporal, spectral-spectral, mixed
        self.aggregate = nn.Linear(in_dim, out_dim)
        self.own = nn.Linear(in_dim, out_dim)
        self.norm = nn.BatchNorm1d(out_dim)
        self.stack_pair = nn.Linear(in_dim, out_dim)
        self.stack_score = _score_vector(out_dim)
        self.stack_aggregate = nn.Linear(in_dim, out_dim)
        self.stack_own = nn.Linear(in_dim, out_dim)

    def forward(
        self, temporal: torch.Tensor, spectral: torch.Tensor, stack: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n_t = temporal.shape[1]
        nodes = torch.cat([self.temporal_in(temporal), self.spectral_in(spectral)], dim=1)
        pairs = torch.tanh(self.pair(nodes.unsqueeze(2) * nodes.unsqueeze(1)))
        same_t, same_s, mixed = (pairs @ self.scores.T).unbind(-1)
        logits = torch.cat(
            [
                torch.cat([same_t[:, :n_t, :n_t], mixed[:, :n_t, n_t:]], dim=2),
                torch.cat([mixed[:, n_t:, :n_t], same_s[:, n_t:, n_t:]], dim=2),
            ],
            dim=1,
        )
        weights = torch.softmax(logits / self.temperature, dim=-1)
        updated = F.selu(_norm_nodes(self.norm, self.aggregate(weights @ nodes) + self.own(nodes)))
        stack_logits = torch.tanh(self.stack_pair(nodes * stack)) @ self.stack_score
        stack_weights = torch.softmax(stack_logits / self.temperature, dim=-1).unsqueeze(1)
        stack = self.stack_aggregate(stack_weights @ nodes) + self.stack_own(stack)
        return updated[:, :n_t], updated[:, n_t:], stack


class MGOBranch(nn.Module):
    """One branch of the max graph operation: an HS-GAL with the branch's own learned
    initial stack node, graph pooling of each node type, and a second HS-GAL whose output is
    added to its input (nodes and stack node)."""

    def __init__(
        self, in_dim: int, out_dim: int, ratios: list[float], temperatures: list[float]
    ) -> None:
        super().__init__()
        self.stack = nn.Parameter(torch.randn(1, 1, in_dim))
        self.first = HeterogeneousGraphAttention(in_dim, out_dim, temperatures[0])
        self.pool_spectral = GraphPool(out_dim, ratios[0])
        self.pool_temporal = GraphPool(out_dim, ratios[1])
        self.second = HeterogeneousGraphAttention(out_dim, out_dim, temperatures[1])

    def forward(
        self, temporal: torch.Tensor, spectral: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stack = self.stack.expand(temporal.shape[0], -1, -1)
        temporal, spectral, stack = self.first(temporal, spectral, stack)
        temporal, spectral = self.pool_temporal(temporal), self.pool_spectral(spectral)
        more_t, more_s, more_stack = self.second(temporal, spectral, stack)
        return temporal + more_t, spectral + more_s, stack + more_stack


@register_network
class AASISTNetwork(Network):
    """AASIST on a window's waveform ``[batch, samples]`` at 16 kHz.

    ``size`` is ``"AASIST"`` (about 0.30 M parameters) or ``"AASIST-L"`` (about 0.085 M);
    ``encoder_channels``, ``gat_dims``, ``pool_ratios`` and ``temperatures`` override its
    values (see :data:`SIZES`). The sinc layer has ``sinc_filters`` filters of ``sinc_kernel``
    taps (magnitude, 3x3 max pooling, BN, SELU); ``learn_sinc=False`` freezes them at their
    mel-spaced start, as the paper does. ``dropout`` applies to the readout. Graph pooling
    keeps a number of nodes set by the input length: an exported graph is for the window
    length it was traced at.
    """

    reads = "waveform"

    def __init__(
        self,
        input_shape: list[int],
        size: str = "AASIST",
        sinc_filters: int = 70,
        sinc_kernel: int = 128,
        encoder_channels: list[int] | None = None,
        gat_dims: list[int] | None = None,
        pool_ratios: list[float] | None = None,
        temperatures: list[float] | None = None,
        dropout: float = 0.5,
        learn_sinc: bool = True,
        sample_rate: int = 16000,
    ) -> None:
        if size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
        preset = SIZES[size]
        encoder_channels = list(encoder_channels or preset["encoder_channels"])
        gat_dims = list(gat_dims or preset["gat_dims"])
        pool_ratios = [float(r) for r in pool_ratios or preset["pool_ratios"]]
        temperatures = [float(t) for t in temperatures or preset["temperatures"]]
        super().__init__()
        # Recorded as resolved, so that a later change of a preset cannot change a stored model.
        self.resolved = {
            "encoder_channels": encoder_channels,
            "gat_dims": gat_dims,
            "pool_ratios": pool_ratios,
            "temperatures": temperatures,
        }
        expect_rank("AASISTNetwork", input_shape, "[samples]", "WaveformDataModule")
        if len(gat_dims) != 2 or len(pool_ratios) != 4 or len(temperatures) != 4:
            raise ValueError(
                "AASISTNetwork needs 2 gat_dims, 4 pool_ratios and 4 temperatures, got "
                f"{gat_dims}, {pool_ratios}, {temperatures}"
            )
        frames = (input_shape[0] - sinc_kernel + 1) // 3 ** (1 + len(encoder_channels))
        if frames < 1 or sinc_filters < 3:
            raise ValueError(
                f"{input_shape[0]} samples and {sinc_filters} sinc filters leave no temporal "
                f"or spectral node after {len(encoder_channels)} blocks that each divide time "
                "by 3"
            )
        self.sinc = SincConv(sinc_filters, sinc_kernel, sample_rate, learnable=learn_sinc)
        self.front = nn.Sequential(nn.MaxPool2d(3), nn.BatchNorm2d(1), nn.SELU())
        channels = [1, *encoder_channels]
        self.encoder = nn.Sequential(
            *(
                EncoderBlock(channels[i], channels[i + 1], first=i == 0)
                for i in range(len(encoder_channels))
            )
        )
        graph_dim, stack_dim = gat_dims
        self.spectral_gat = GraphAttention(channels[-1], graph_dim, temperatures[0])
        self.temporal_gat = GraphAttention(channels[-1], graph_dim, temperatures[1])
        self.spectral_pool = GraphPool(graph_dim, pool_ratios[0])
        self.temporal_pool = GraphPool(graph_dim, pool_ratios[1])
        self.branches = nn.ModuleList(
            MGOBranch(graph_dim, stack_dim, pool_ratios[2:], temperatures[2:]) for _ in range(2)
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(5 * stack_dim, 1)

    def recorded(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {**arguments, **self.resolved}

    @classmethod
    def example(cls, input_shape: list[int]) -> AASISTNetwork:
        return cls(input_shape, size="AASIST-L")

    def check_input(self, spec: InputSpec) -> None:
        # The sinc band edges are in Hz: another sample rate would shift every band.
        if spec.sample_rate != self.sinc.sample_rate:
            raise ValueError(
                f"AASISTNetwork was built for {self.sinc.sample_rate} Hz audio, got "
                f"{spec.sample_rate} Hz"
            )

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        maps = self.encoder(self.front(self.sinc(waves).abs().unsqueeze(1)))
        magnitude = maps.abs()  # [batch, channels, bins, frames]
        spectral = self.spectral_pool(self.spectral_gat(magnitude.amax(dim=3).transpose(1, 2)))
        temporal = self.temporal_pool(self.temporal_gat(magnitude.amax(dim=2).transpose(1, 2)))
        # The max graph operation: two competing branches, element-wise maximum of their outputs.
        first, second = (branch(temporal, spectral) for branch in self.branches)
        temporal, spectral, stack = (
            torch.maximum(a, b) for a, b in zip(first, second, strict=True)
        )
        readout = torch.cat(
            [
                temporal.abs().amax(dim=1),
                temporal.mean(dim=1),
                spectral.abs().amax(dim=1),
                spectral.mean(dim=1),
                stack.squeeze(1),
            ],
            dim=-1,
        )
        return self.head(self.dropout(readout)).reshape(-1)
