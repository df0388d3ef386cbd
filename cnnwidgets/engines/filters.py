"""Convolution filters of a layer, as plain numpy arrays."""

from __future__ import annotations

import numpy as np
from torch import nn

from ..core.model_base import as_model


class NotAConvLayerError(ValueError):
    """A layer that holds no convolution weights; the message lists the ones that do."""

    def __init__(self, name: str, kind: str, conv_layers: list[str]):
        self.name, self.conv_layers = name, list(conv_layers)
        super().__init__(
            f"layer {name!r} is a {kind}, not a convolution, so it has no filters. "
            f"Convolution layers of this model ({len(conv_layers)}): {', '.join(conv_layers)}"
        )


def filters(model, layer: str) -> np.ndarray:
    """The weights of a 2-D convolution layer: float32 array (C_out, C_in / groups, kh, kw).

    A copy: changing the array never changes the model. A transposed convolution with one
    group is returned in the same (C_out, C_in, kh, kw) layout. A layer that is not a
    convolution raises :class:`NotAConvLayerError` listing the convolution layers; an unknown
    name raises :class:`~cnnwidgets.LayerNotFoundError`.
    """
    m = as_model(model)
    module = m.module_of(layer)
    weight = getattr(module, "weight", None)
    if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) or weight is None:
        raise NotAConvLayerError(layer, type(module).__name__, m.conv_layers)
    w = weight.detach()
    if isinstance(module, nn.ConvTranspose2d):
        if module.groups != 1:
            raise ValueError(
                f"layer {layer!r} is a grouped transposed convolution; its filters "
                "have no (C_out, C_in, kh, kw) layout"
            )
        w = w.transpose(0, 1)
    return w.to("cpu", copy=True).float().numpy()
