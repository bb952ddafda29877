"""AlexNet (Krizhevsky et al. 2012) adapted to small images: 5 conv + 3 linear layers."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from lit_interactions.models.normalize import make_normalize


class AlexNet(nn.Module):
    """AlexNet's layer plan (64-192-384-256-256 convs, three linear layers) for 28-64 pixel inputs.

    The 11x11 stride-4 stem of the ImageNet model would reduce a 64x64 image to 15x15 at once; a 5x5 stride-1 stem
    keeps the spatial detail that small images have, as is usual for CIFAR and Tiny-ImageNet studies.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        hidden: int = 1024,
        dropout: float = 0.5,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.normalize = make_normalize(in_channels, mean, std)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1),
        )
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(256 * 4, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.features(self.normalize(x))).flatten(1))


def alexnet(**kwargs) -> AlexNet:
    """AlexNet for small images."""
    return AlexNet(**kwargs)
