"""ResNet-34 from torchvision, with the stem adapted to the number of input channels and to small images."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torchvision.models import resnet34 as tv_resnet34

from lit_interactions.models.normalize import make_normalize


class ResNet34(nn.Module):
    """torchvision's ResNet-34 behind an input normalisation.

    With ``small_input`` (the default, for 28-64 pixel images) the 7x7 stride-2 stem and the max pool are replaced by
    a 3x3 stride-1 conv, the usual CIFAR adaptation; otherwise the ImageNet stem is kept.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        small_input: bool = True,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.normalize = make_normalize(in_channels, mean, std)
        net = tv_resnet34(weights=None, num_classes=num_classes)
        if small_input:
            net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        elif in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.normalize(x))


def resnet34(**kwargs) -> ResNet34:
    """ResNet-34 (about 21.3M parameters at 10 classes)."""
    return ResNet34(**kwargs)
