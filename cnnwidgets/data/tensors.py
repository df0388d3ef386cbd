"""Images -> model-sized tensors: the resize and crop every model's preprocessing starts with."""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from .images import load_image


def image_tensor(
    image: Any,
    in_channels: int,
    resize_size: int,
    input_size: tuple[int, int],
    interpolation: InterpolationMode,
) -> torch.Tensor:
    """One image -> (C, H, W) float tensor in [0, 1]: shorter side resized, centre-cropped.

    A plain function (no model, no device) so that DataLoader workers can run it too.
    """
    pil = load_image(image)
    if in_channels == 1:
        pil = pil.convert("L")
    t = TF.pil_to_tensor(pil)
    t = TF.resize(t, resize_size, interpolation=interpolation, antialias=True)
    t = TF.center_crop(t, list(input_size))
    return t.float().div_(255)
