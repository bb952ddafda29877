"""VGG-11/13/16 with batch norm (Simonyan & Zisserman 2014) for small images (MNIST, CIFAR-10, Tiny-ImageNet)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from lit_interactions.models.normalize import make_normalize

# Channels of each 3x3 conv; "M" is a 2x2 max pool (the configurations A, B and D of the VGG paper).
VGG_CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """VGG with batch norm; a 3-layer 512-wide classifier on globally pooled features.

    Pools use ``ceil_mode`` so 28x28 inputs (MNIST) survive the five poolings. Depth counts conv and linear
    layers: VGG-16 = 13 conv + 3 linear.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        in_channels: int = 3,
        hidden: int = 512,
        dropout: float = 0.5,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if depth not in VGG_CONFIGS:
            raise ValueError(f"VGG depth must be one of {sorted(VGG_CONFIGS)}, got {depth}")
        self.normalize = make_normalize(in_channels, mean, std)
        layers: list[nn.Module] = []
        channels = in_channels
        for item in VGG_CONFIGS[depth]:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.BatchNorm2d(int(item)), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(self.normalize(x))).flatten(1))


def vgg11(**kwargs) -> VGG:
    """VGG-11 with batch norm."""
    return VGG(11, **kwargs)


def vgg13(**kwargs) -> VGG:
    """VGG-13 with batch norm."""
    return VGG(13, **kwargs)


def vgg16(**kwargs) -> VGG:
    """VGG-16 with batch norm."""
    return VGG(16, **kwargs)
