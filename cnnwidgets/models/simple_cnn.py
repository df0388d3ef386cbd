"""The small teaching CNN of the course: three conv blocks and a classifier."""

from __future__ import annotations

from torch import nn


def _conv_block(in_ch: int, out_ch: int) -> nn.Sequential:
    # Named children so that layer names read as "conv1.conv", "conv1.bn", "conv1.relu".
    block = nn.Sequential()
    block.add_module("conv", nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False))
    block.add_module("bn", nn.BatchNorm2d(out_ch))
    block.add_module("relu", nn.ReLU())
    block.add_module("pool", nn.MaxPool2d(2))
    return block


class SimpleCNN(nn.Module):
    """conv1 -> conv2 -> conv3 (each conv, BatchNorm, ReLU, 2x2 max-pool) -> classifier.

    Works on any input of at least 8 x 8 pixels: the classifier starts with a global average
    pool, so the same network trains on 8 x 8 digits and on 224 x 224 photos.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32):
        super().__init__()
        self.conv1 = _conv_block(in_channels, width)
        self.conv2 = _conv_block(width, width * 2)
        self.conv3 = _conv_block(width * 2, width * 4)
        self.classifier = nn.Sequential()
        self.classifier.add_module("pool", nn.AdaptiveAvgPool2d(1))
        self.classifier.add_module("flatten", nn.Flatten())
        self.classifier.add_module("dropout", nn.Dropout(0.2))
        self.classifier.add_module("fc", nn.Linear(width * 4, num_classes))

    def forward(self, x):
        return self.classifier(self.conv3(self.conv2(self.conv1(x))))
