"""Whisper's encoder in PyTorch, built from the packaged weights (:mod:`.weights`): Whisper's
log-mel, two convolutions (the second with stride 2) and pre-norm transformer blocks, every
layer's output returned. :mod:`.numpy_encoder` is its numpy twin (the same contract, tested as
one), and ``tests/test_whisper_encoder.py`` holds both against ctranslate2's encoder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepfake_audio.features.whisper import HOP, N_FFT, WhisperFeatures, mel_filters
from deepfake_audio.features.whisper.weights import MODELS, encoder_weights


class WhisperLogMel(nn.Module):
    """Whisper's 80-band log-mel of waveforms ``[n, samples]``: ``[n, 80, samples // 160]``,
    log10 power floored 8 decades below each window's maximum and scaled as the encoder
    expects."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filters", torch.from_numpy(mel_filters()), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(waves, N_FFT, HOP, window=self.window, return_complex=True)
        power = spectrum[..., :-1].abs().pow(2)
        energies = torch.log10((power.transpose(-2, -1) @ self.filters).clamp_min(1e-10))
        floor = energies.amax(dim=(-2, -1), keepdim=True) - 8.0
        return ((torch.maximum(energies, floor) + 4.0) / 4.0).transpose(-2, -1)


class EncoderBlock(nn.Module):
    """A pre-norm transformer block: self-attention, then a GELU MLP, each added back."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.attention_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)  # query, key and value, fused
        self.attention_out = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        batch, frames, width = hidden.shape
        qkv = self.qkv(self.attention_norm(hidden))
        query, key, value = qkv.view(batch, frames, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        # Plain matrix products rather than scaled_dot_product_attention: they export to ONNX
        # as they are, and equal it here.
        scores = query @ key.transpose(-2, -1) / (width // self.heads) ** 0.5
        attended = (scores.softmax(dim=-1) @ value).transpose(1, 2).reshape(batch, frames, width)
        hidden = hidden + self.attention_out(attended)
        return hidden + self.mlp(self.mlp_norm(hidden))

    def load(self, weights: dict[str, np.ndarray], prefix: str) -> None:
        """Copy one block's CTranslate2 weights (``layer_N/...``) into this block."""
        names = {
            "attention_norm.weight": "self_attention/layer_norm/gamma",
            "attention_norm.bias": "self_attention/layer_norm/beta",
            "qkv.weight": "self_attention/linear_0/weight",
            "qkv.bias": "self_attention/linear_0/bias",
            "attention_out.weight": "self_attention/linear_1/weight",
            "attention_out.bias": "self_attention/linear_1/bias",
            "mlp_norm.weight": "ffn/layer_norm/gamma",
            "mlp_norm.bias": "ffn/layer_norm/beta",
            "mlp.0.weight": "ffn/linear_0/weight",
            "mlp.0.bias": "ffn/linear_0/bias",
            "mlp.2.weight": "ffn/linear_1/weight",
            "mlp.2.bias": "ffn/linear_1/bias",
        }
        self.load_state_dict(
            {
                ours: torch.from_numpy(weights[f"{prefix}/{theirs}"])
                for ours, theirs in names.items()
            }
        )


def final_norm(model: str) -> nn.LayerNorm:
    """The encoder's final layer norm, with its weights."""
    weights = encoder_weights(model)
    norm = nn.LayerNorm(MODELS[model].width)
    norm.load_state_dict(
        {
            "weight": torch.from_numpy(weights["layer_norm/gamma"]),
            "bias": torch.from_numpy(weights["layer_norm/beta"]),
        }
    )
    return norm


def pretrained_blocks(model: str, indices: Sequence[int]) -> nn.ModuleList:
    """Blocks ``indices`` (1-based: block N yields layer N) of an encoder, with their
    weights."""
    spec, weights = MODELS[model], encoder_weights(model)
    blocks = nn.ModuleList(EncoderBlock(spec.width, spec.heads) for _ in indices)
    for block, index in zip(blocks, indices, strict=True):
        block.load(weights, f"layer_{index - 1}")
    return blocks


class WhisperEncoder(nn.Module):
    """Log-mel ``[n, 80, 2 * frames]`` to hidden states ``[n, frames, width]``: the embedding
    (convolutions plus positions) is layer 0, block N's output layer N, and the last layer is
    the last block's output after the final layer norm (what ctranslate2's encoder returns).
    Any length up to 30 s (1,500 frames)."""

    def __init__(self, model: str) -> None:
        super().__init__()
        spec, weights = MODELS[model], encoder_weights(model)
        width = spec.width
        self.conv1 = nn.Conv1d(80, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        for index, conv in enumerate((self.conv1, self.conv2), start=1):
            conv.weight.data.copy_(torch.from_numpy(weights[f"conv{index}/weight"]))
            conv.bias.data.copy_(torch.from_numpy(weights[f"conv{index}/bias"]))
        positions = torch.from_numpy(weights["position_encodings/encodings"])
        self.register_buffer("positions", positions, persistent=False)
        self.blocks = pretrained_blocks(model, range(1, spec.blocks + 1))
        self.norm = final_norm(model)

    def forward(self, mel: torch.Tensor, last: int | None = None) -> list[torch.Tensor]:
        """Layers 0 to ``last`` (default: every one)."""
        last = len(self.blocks) if last is None else last
        hidden = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        frames = hidden.shape[1]
        if frames > len(self.positions):
            raise ValueError(f"Whisper reads at most 30 s ({len(self.positions)} frames)")
        layers = [hidden + self.positions[:frames]]
        for block in self.blocks[:last]:
            layers.append(block(layers[-1]))
        if last == len(self.blocks):
            layers[-1] = self.norm(layers[-1])
        return layers


class WhisperFrontEnd(nn.Module):
    """Windows ``[..., samples]`` to the chosen layers' frames, stacked along the rows:
    ``[..., layers * width, frames]`` (layer by layer, each ``width`` rows). Frozen."""

    def __init__(self, features: WhisperFeatures) -> None:
        super().__init__()
        self.features = features
        self.log_mel = WhisperLogMel()
        self.encoder = WhisperEncoder(features.model).eval().requires_grad_(False)

    @torch.no_grad()
    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        leading = waves.shape[:-1]
        flat = waves.reshape(-1, waves.shape[-1]).float()
        chosen = self.features.chosen_layers
        layers = self.encoder(self.log_mel(flat), last=max(chosen))
        stacked = torch.cat([layers[index] for index in chosen], dim=-1).transpose(1, 2)
        return stacked.reshape(*leading, *stacked.shape[1:])
