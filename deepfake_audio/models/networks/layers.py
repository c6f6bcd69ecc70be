"""Heads on an encoder's layers ``[batch, frames, layers, width]`` (:class:`LayerStack`
input) or on their pooled statistics (:class:`LayerStatistics` input): pooled statistics of
every layer under one linear layer, and a learnt weighted sum of the layers (or one fixed
layer) under any frame-sequence network, with the encoder's top blocks optionally fine-tuned.

Spoofing cues sit mostly in the early and middle layers of speech encoders, whose last layers
are the most specific to their own training task (Combei et al., Interspeech 2025, for XLS-R;
the weighted sum of all layers of Zhang et al.'s SLS model, 2024): these heads let training
choose among the layers rather than take the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from deepfake_audio.models.networks.base import (
    Network,
    NetworkFactory,
    build_network,
    expect_rank,
    register_network,
)

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec


Statistic = Literal["mean", "std"]
STATISTICS: tuple[Statistic, ...] = ("mean", "std")  # in the order LayerStatistics pools them


# The input of the heads on the layers themselves (LayerStack), and the DataModule making it.
LAYERS_INPUT = ("[frames, layers, width]", "LayerDataModule")


class CosineLogit(nn.Module):
    """``scale`` times the cosine between each input vector and a learnt direction: a bounded
    logit, which with :class:`~deepfake_audio.models.Detector`'s ``margins`` gives the one-class
    softmax (Zhang et al., 2021): bona fide embeddings gather around the direction, spoofs need
    only stay away from it."""

    def __init__(self, width: int, scale: float) -> None:
        super().__init__()
        self.direction = nn.Parameter(torch.randn(width) / width**0.5)
        self.scale = scale

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.scale * F.cosine_similarity(embeddings, self.direction[None], dim=-1)


@register_network
class LayerStatisticsNetwork(Network):
    """The linear probe of an encoder on its layers' pooled statistics ``[2, layers, width]``
    (:class:`LayerStatistics` input: each layer's mean and standard deviation over a window,
    pooled in the data), standardised over the training set (batch norm without a learnt
    scale) and read by one linear layer: a logistic regression on pooled layer statistics.

    ``statistics`` chooses which of the two are read: the standard deviation alone drops what
    a clip holds constant over time, such as its speaker and its recording chain.

    With ``embedding``, the linear layer projects to that many values instead, and the logit
    is ``scale`` times their cosine with a learnt direction (:class:`CosineLogit`); ``scale``
    is used with ``embedding`` only."""

    reads = "layer_statistics"
    expects = ("[2, layers, width]", "LayerStatisticsDataModule")  # input, and who makes it

    def __init__(
        self,
        input_shape: list[int],
        dropout: float = 0.0,
        embedding: int | None = None,
        scale: float = 20.0,
        statistics: Sequence[Statistic] = ("mean", "std"),
    ) -> None:
        super().__init__()
        expect_rank(type(self).__name__, input_shape, *self.expects)
        if not statistics or len(set(statistics)) < len(statistics):
            raise ValueError(f"statistics must name mean, std or both once, got {statistics}")
        if unknown := set(statistics) - set(STATISTICS):
            raise ValueError(f"statistics can be mean and std, got {sorted(unknown)}")
        self.chosen = [STATISTICS.index(name) for name in statistics]
        _, layers, width = input_shape
        pooled = len(self.chosen) * layers * width
        self.standardise = nn.BatchNorm1d(pooled, affine=False)
        self.dropout = nn.Dropout(dropout)
        if embedding is None:
            self.linear = nn.Linear(pooled, 1)
        else:
            self.linear = nn.Sequential(nn.Linear(pooled, embedding), CosineLogit(embedding, scale))

    def forward(self, statistics: torch.Tensor) -> torch.Tensor:
        pooled = statistics[:, self.chosen].transpose(1, 2).flatten(1)  # layer by layer
        return self.linear(self.dropout(self._standardised(pooled))).reshape(-1)

    def _standardised(self, pooled: torch.Tensor) -> torch.Tensor:
        """Batch norm while training; after it, the same standardisation by the running
        statistics written out, which an ONNX export can trace whatever shapes it infers
        upstream (its batch norm needs a known channel count, lost after tuned blocks)."""
        norm = self.standardise
        if self.training:
            return norm(pooled)
        return (pooled - norm.running_mean) * torch.rsqrt(norm.running_var + norm.eps)


class TopBlockTuning(nn.Module):
    """For heads on a layer stack: ``finetune`` > 0 re-runs the encoder's top ``finetune``
    blocks (and its final layer norm) inside the network, from the cached output of the layer
    below them, initialised with the ``encoder``'s packaged weights and trained with learning
    rate ``finetune_lr``; their outputs replace those layers (:meth:`retuned`). It needs the
    front end's every layer, unstandardised."""

    blocks: nn.ModuleList
    final_norm: nn.LayerNorm | None

    def tune_top_blocks(
        self, layers: int, finetune: int, encoder: str | None, finetune_lr: float
    ) -> None:
        """Build the tuned blocks (none when ``finetune`` is 0); call from ``__init__``."""
        if finetune and encoder is None:
            raise ValueError("finetune needs the encoder's name")
        if not 0 <= finetune < layers:
            raise ValueError(f"finetune must be 0 to {layers - 1} blocks, got {finetune}")
        self.finetune_lr, self.encoder = finetune_lr, encoder
        self.blocks, self.final_norm = nn.ModuleList(), None
        if finetune:
            from deepfake_audio.features.whisper.encoder import final_norm, pretrained_blocks

            last = layers - 1
            self.blocks = pretrained_blocks(encoder, range(last - finetune + 1, last + 1))
            self.final_norm = final_norm(encoder)

    def retuned(self, stack: torch.Tensor) -> torch.Tensor:
        """The layer stack ``[batch, frames, layers, width]`` with its top layers re-run
        through the tuned blocks (the stack itself without them)."""
        if not self.blocks:
            return stack
        first = stack.shape[2] - len(self.blocks)
        hidden, tuned = stack[:, :, first - 1], []
        for block in self.blocks:
            hidden = block(hidden)
            tuned.append(hidden)
        tuned[-1] = self.final_norm(tuned[-1])
        return torch.cat([stack[:, :, :first], torch.stack(tuned, dim=2)], dim=2)

    def check_input(self, spec: InputSpec) -> None:
        features = spec.features
        if not self.blocks:
            return
        if getattr(features, "model", None) != self.encoder or features.layers is not None:
            raise ValueError(
                f"finetuning Whisper {self.encoder}'s blocks needs every layer of its front end "
                f"(features: WhisperFeatures with model {self.encoder} and layers null)"
            )
        if features.standardised:
            raise ValueError("finetuning needs the layers unstandardised (standardised: false)")

    def parameter_groups(self) -> list[dict[str, Any]]:
        tuned = {id(p) for p in self.blocks.parameters()}
        if self.final_norm is not None:
            tuned |= {id(p) for p in self.final_norm.parameters()}
        rest = [p for p in self.parameters() if id(p) not in tuned]
        groups: list[dict[str, Any]] = [{"params": rest}]
        if tuned:
            tuned_parameters = [p for p in self.parameters() if id(p) in tuned]
            groups.append({"params": tuned_parameters, "lr": self.finetune_lr})
        return groups


@register_network
class LayerStatsNetwork(TopBlockTuning, LayerStatisticsNetwork):
    """:class:`LayerStatisticsNetwork` on the layers themselves (:class:`LayerStack` input),
    pooling them first: the same model, with the window's frames in its input. Training it
    reads every frame of every window each epoch; :class:`LayerStatisticsNetwork` with
    ``LayerStatisticsDataModule`` reads each window once. With ``finetune``, the encoder's top
    blocks are tuned with the probe (:class:`TopBlockTuning`)."""

    reads = "layers"
    expects = LAYERS_INPUT

    def __init__(
        self,
        input_shape: list[int],
        dropout: float = 0.0,
        embedding: int | None = None,
        scale: float = 20.0,
        statistics: Sequence[Statistic] = ("mean", "std"),
        finetune: int = 0,
        encoder: str | None = None,
        finetune_lr: float = 1e-5,
    ) -> None:
        super().__init__(input_shape, dropout, embedding, scale, statistics)
        self.tune_top_blocks(input_shape[1], finetune, encoder, finetune_lr)

    def forward(self, stack: torch.Tensor) -> torch.Tensor:
        std, mean = torch.std_mean(self.retuned(stack), dim=1)
        return super().forward(torch.stack([mean, std], dim=1))


@register_network
class LayerMixNetwork(TopBlockTuning, Network):
    """A learnt, softmax-weighted sum of the layers, each layer-normalised per frame first
    (or the one ``layer`` chosen), read by ``head``: any network on frame sequences
    ``[frames, width]`` (attentive statistics pooling, a TDNN, ...). With ``finetune``, the
    encoder's top blocks are tuned with the head (:class:`TopBlockTuning`).
    """

    reads = "layers"

    def __init__(
        self,
        input_shape: list[int],
        head: NetworkFactory,
        layer: int | None = None,
        finetune: int = 0,
        encoder: str | None = None,
        finetune_lr: float = 1e-5,
    ) -> None:
        super().__init__()
        expect_rank("LayerMixNetwork", input_shape, *LAYERS_INPUT)
        frames, layers, width = input_shape
        if layer is not None and not 0 <= layer < layers:
            raise ValueError(f"layer must be 0 to {layers - 1}, got {layer}")
        if finetune and layer is not None:
            raise ValueError("finetune needs a weighted sum of the layers (no layer)")
        self.layers, self.layer, self.width = layers, layer, width
        self.weights = nn.Parameter(torch.zeros(layers)) if layer is None else None
        self.tune_top_blocks(layers, finetune, encoder, finetune_lr)
        self.head = head([frames, width])

    def recorded(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {**arguments, "head": self.head.config}

    @classmethod
    def from_config(cls, init_args: dict[str, Any]) -> LayerMixNetwork:
        head = init_args["head"]
        return cls(**{**init_args, "head": lambda _shape: build_network(head)})

    @classmethod
    def example(cls, input_shape: list[int]) -> LayerMixNetwork:
        from deepfake_audio.models.networks.pooling import AttentiveStatsNetwork

        return cls(input_shape, AttentiveStatsNetwork.example)

    def layer_weights(self) -> torch.Tensor:
        """Each layer's weight in the sum (one-hot for a chosen layer)."""
        if self.weights is None:
            return F.one_hot(torch.tensor(self.layer), self.layers).float()
        return self.weights.detach().softmax(dim=0)

    def forward(self, stack: torch.Tensor) -> torch.Tensor:
        if self.layer is not None:
            return self.head(F.layer_norm(stack[:, :, self.layer], (self.width,)))
        stack = self.retuned(stack)
        normed = F.layer_norm(stack, (self.width,))
        mixed = torch.einsum("bflw,l->bfw", normed, self.weights.softmax(dim=0))
        return self.head(mixed)
