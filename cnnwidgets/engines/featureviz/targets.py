"""Images that a render starts from or is compared with: loading them, fitting them to a size,
and their activations in the model.

Two uses share one rule for the geometry, so that a render started from an image and an
objective comparing with the same image see the same framing:

- ``visualize(init=...)`` fits the start images to the optimised ``size``;
- objectives with a target image (``activation_match``, ``style``, ``content``, ``accentuate``)
  run the model on it once, when the objective is bound to the run (:meth:`Objective.bind`),
  not at every step. The target is seen as a rendered image is: fitted to the render's
  ``size``, then resampled to its input size by the loop's own resize. A render that starts
  from the target image therefore starts exactly at it (distance 0, cosine 1), and the target
  holds no detail finer than a render of that size can draw. With ``size`` equal to the input
  size this is the model's own preprocessing at that size.

The rule for fitting: an image that already has the wanted size is used as it is (a start
image then appears unchanged in the first frame); any other is resized and centre-cropped as
the model's own preprocessing does at that size (shorter side to
``size * resize_size / input_size``, antialiased, then the centre crop).

Sources are anything :func:`cnnwidgets.load_image` reads (a bundled sample's name, a path,
PIL, an HWC/CHW array or tensor), or a batch: a list or tuple of those, a 4-D tensor
(N, C, H, W) or a 4-D array (N, H, W, C). Anything else is an :class:`InputError` naming what
the image was for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from ...core.errors import InputError
from ...core.guard import preserved
from ...core.hooks import capture, run_until_captured
from ...core.inputs import input_layout
from ...data.images import ImageLoadError, load_image
from .transforms import Resize


def _items(source) -> list:
    if isinstance(source, (list, tuple)):
        return list(source)
    if isinstance(source, torch.Tensor) and source.ndim == 4:
        return list(source)
    if isinstance(source, np.ndarray) and source.ndim == 4:
        return list(source)
    return [source]


def load_images(source, what: str = "the image") -> list[Image.Image]:
    """``source`` (one image or a batch, see the module docstring) -> RGB PIL images.

    Errors: :class:`InputError` with ``what`` in the message, raised now rather than at the
    first step of a render.
    """
    items = _items(source)
    if not items:
        raise InputError(f"{what}: an empty batch of images")
    images = []
    for k, item in enumerate(items):
        where = what if len(items) == 1 else f"{what} (item {k})"
        if item is None:
            raise InputError(f"{where}: expected an image, got None")
        try:
            images.append(load_image(item))
        except (ImageLoadError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise InputError(f"{where} could not be read as an image: {exc}") from exc
    return images


def _size2(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def fit_images(images: Sequence[Image.Image], size, model) -> torch.Tensor:
    """PIL images -> (N, 3, H, W) float32 in [0, 1] on the CPU at ``size`` (the module's rule:
    as is when the size matches, else the model's resize and centre crop)."""
    h, w = _size2(size)
    input_size = tuple(getattr(model, "input_size", (224, 224)))
    resize_size = getattr(model, "resize_size", round(min(input_size) * 256 / 224))
    interpolation = getattr(model, "interpolation", InterpolationMode.BILINEAR)
    out = []
    for img in images:
        t = TF.pil_to_tensor(img.convert("RGB"))
        if tuple(t.shape[1:]) != (h, w):
            shorter = round(min(h, w) * resize_size / min(input_size))
            t = TF.resize(t, max(shorter, h, w), interpolation=interpolation, antialias=True)
            t = TF.center_crop(t, [h, w])
        out.append(t.float().div_(255))
    return torch.stack(out)


def layer_activations(model, images: torch.Tensor, layers: Iterable[str]) -> dict:
    """Activations of ``layers`` for ``images`` (N, 3, H, W) in [0, 1], fed to the model as
    they are (no resize): one forward pass that stops after the deepest layer, in inference
    mode under the model's guard. The tensors are cloned out of inference mode, so that
    objectives can use them in the render's autograd graph."""
    modules = {name: model.module_of(name) for name in layers}
    with preserved(model.module), torch.inference_mode():
        x = model.normalize(images.to(model.device, model.dtype))
        with capture(modules, stop_after_last=True) as store:
            run_until_captured(lambda: model.module(input_layout(x, model)))
    return {name: t.clone() for name, t in store.items()}


class TargetImage:
    """A target image (or one per rendered image) and its activations at ``layers``.

    The images load when this is made (a bad source fails at once); the activations are
    computed by :meth:`bind`, once per run, at the run's input size.
    """

    def __init__(self, source, layers: Iterable[str], what: str):
        self.images = load_images(source, what)
        self.layers = tuple(dict.fromkeys(layers))
        self.what = what
        self.acts: dict | None = None

    def __len__(self) -> int:
        return len(self.images)

    def bind(self, spec) -> None:
        """Compute the activations for the run described by ``spec`` (a RenderSpec): the
        images fitted to ``spec.size`` and resampled to ``spec.input_size`` as renders are."""
        if len(self.images) not in (1, spec.batch):
            raise InputError(
                f"{self.what}: {len(self.images)} images for a render of {spec.batch}; give "
                f"one image or one per rendered image"
            )
        x = Resize(spec.input_size)(fit_images(self.images, spec.size, spec.model))
        self.acts = layer_activations(spec.model, x, self.layers)

    def get(self, layer: str, index: torch.Tensor) -> torch.Tensor:
        """The target's activations at ``layer`` for the images ``index`` of the batch
        (broadcast when there is one target image). Call :meth:`bind` first."""
        t = self.acts[layer]
        return t if t.shape[0] == 1 else t[index.to(t.device)]
