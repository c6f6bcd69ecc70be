"""CNNs from timm on feature images: ResNet-18, Res2Net-50, SENet-154, ... by name."""

from __future__ import annotations

import torch

from deepfake_audio.models.networks.base import Network, expect_rank, register_network


@register_network
class TimmNetwork(Network):
    """Any timm image model by name on ``[batch, channels, rows, frames]``, with one output
    logit and as many input channels as the images have. ``pretrained`` stays false unless
    timm's weights are already on disk: nothing is downloaded here."""

    reads = "image"

    def __init__(
        self,
        input_shape: list[int],
        backbone: str = "resnet18",
        pretrained: bool = False,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        expect_rank(backbone, input_shape, "[channels, rows, frames]", "MelImageDataModule")
        import timm

        self.model = timm.create_model(
            backbone,
            pretrained=pretrained,
            in_chans=input_shape[0],
            num_classes=1,
            drop_rate=drop_rate,
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images).reshape(-1)
