"""The Model wrapper: a torch module with its preprocessing, labels and inspectable layers."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.transforms import InterpolationMode

from ..core.errors import InputError, ModelError, ParameterError
from ..core.guard import preserved
from ..core.inputs import check_finite, ready_input
from ..core.layers import LayerNotFoundError, LayerTable, probe_layers
from ..core.model_base import ModelBase
from ..data.images import load_image
from ..data.tensors import image_tensor
from .output import OutputSpec, select_output

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Model(ModelBase):
    """A classifier together with everything the views need to know about it.

    ``module`` is the ``torch.nn.Module`` itself. ``preprocess`` turns images into the input
    tensor: resize the shorter side to ``resize_size`` (default ``input_size * 256 / 224``),
    centre-crop ``input_size``, scale to [0, 1], then ``(x - mean) / std``. ``output`` selects
    the logits from models that return tuples or dicts (see :func:`select_output`).
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        labels: Sequence[str] | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        input_size: int | tuple[int, int] = 224,
        resize_size: int | None = None,
        in_channels: int = 3,
        output: OutputSpec = None,
        name: str | None = None,
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
    ):
        if not isinstance(module, nn.Module):
            raise TypeError(f"expected a torch.nn.Module, got a {type(module).__name__}")
        self.module = module
        self.name = name or type(module).__name__
        self.in_channels = in_channels
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        if len(self.mean) != in_channels or len(self.std) != in_channels:
            raise ValueError(f"mean and std need {in_channels} values, one per input channel")
        self.input_size = (
            (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        )
        self.resize_size = resize_size or round(min(self.input_size) * 256 / 224)
        self.output = output
        self.interpolation = interpolation
        self._labels = list(labels) if labels is not None else None
        # Models the zoo builds are stored channels-last on the CPU and NCHW elsewhere (see
        # set_channels_last); a user's own module keeps the layout it came with.
        self._layout_follows_device = False
        # Feature visualization redirects ReLU gradients in its first steps for models that
        # lucid optimised that way (InceptionV1 sets this).
        self.redirect_relu = False

    def __repr__(self) -> str:
        return (
            f"<cnnwidgets.Model {self.name}: {len(self.layers)} layers, "
            f"{self.num_classes} classes, input {self.input_size}, on {self.device}>"
        )

    # ---- device -------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for t in self.module.parameters():
            return t.device
        for t in self.module.buffers():
            return t.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """The floating-point type of the weights (inputs are made to match it)."""
        for t in self.module.parameters():
            if t.is_floating_point():
                return t.dtype
        return torch.float32

    def to(self, device: str | torch.device) -> Model:
        self.module.to(device)
        if self._layout_follows_device:
            self.set_channels_last(self.device.type == "cpu")
        return self

    # ---- memory layout ------------------------------------------------------------------
    @property
    def channels_last(self) -> bool:
        """Whether the convolution weights are stored channels-last; the engines then feed
        channels-last inputs, and contiguous (NCHW) ones otherwise."""
        for mod in self.module.modules():
            w = getattr(mod, "weight", None)
            if isinstance(mod, nn.Conv2d) and isinstance(w, torch.Tensor) and w.ndim == 4:
                if w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous():
                    return True
                if w.is_contiguous() and not w.is_contiguous(memory_format=torch.channels_last):
                    return False
        return False

    def set_channels_last(self, on: bool = True) -> Model:
        """Store the module's 4-D weights channels-last (``on``) or contiguous (NCHW).

        On the CPU, oneDNN runs convolutions channels-last. With NCHW weights and channels-last
        inputs it reorders every weight on every call, forward and backward (measured in
        docs/benchmarks.md). Only the layout changes, never a value.
        """
        fmt = torch.channels_last if on else torch.contiguous_format
        self.module.to(memory_format=fmt)
        return self

    # ---- labels -------------------------------------------------------------------------
    @cached_property
    def num_classes(self) -> int:
        # Under the model's lock and in eval mode, like every other forward pass: another
        # thread's engine call may have hooks on the model, and a model in training mode must
        # not update its BatchNorm statistics from the example input.
        with preserved(self.module), torch.inference_mode():
            return int(self.logits(self.example_input()).shape[-1])

    @property
    def labels(self) -> list[str]:
        if self._labels is None:
            self._labels = [f"class {i}" for i in range(self.num_classes)]
        return self._labels

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else f"class {index}"

    # ---- images -> tensors ------------------------------------------------------------------
    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], (N, C, H, W) -> model input (differentiable, on x's device)."""
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Model input -> images in [0, 1] (not clipped)."""
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return x * std + mean

    def to_display(self, image: Any) -> np.ndarray:
        """The image exactly as the model sees it (resized, cropped), HWC float in [0, 1].

        Always three channels: a grayscale model's one channel is repeated, so that its photo
        encodes as JPEG/PNG and takes colour overlays like any other.
        """
        x = self.denormalize(self.prepare(image))[0].clamp(0, 1)
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        return x.permute(1, 2, 0).cpu().numpy()

    def _image_tensor(self, image: Any) -> torch.Tensor:
        pil = load_image(image)
        if pil.width == 0 or pil.height == 0:
            # The resize would divide by the zero side (ZeroDivisionError deep in torchvision).
            raise InputError(
                f"the image is empty ({pil.width} x {pil.height} pixels): give an image of "
                "at least 1 x 1 pixels"
            )
        return image_tensor(
            pil, self.in_channels, self.resize_size, self.input_size, self.interpolation
        )

    def preprocess(self, images: Any) -> torch.Tensor:
        """One image (anything :func:`load_image` reads) or a list of them -> (N, C, H, W) input."""
        batch = images if isinstance(images, (list, tuple)) else [images]
        if not batch:
            raise InputError("no images to preprocess: give one image or a non-empty list")
        x = torch.stack([self._image_tensor(im) for im in batch])
        return self.normalize(x.to(self.device, self.dtype))

    def prepare(self, images: Any) -> torch.Tensor:
        """Images -> the input every engine feeds the model: the one place inputs are checked.

        A 4-D tensor is an input that is ready (normalised floats, (N, C, H, W)): another float
        dtype is cast to the model's, integer or empty tensors are refused. Anything else goes
        through :meth:`preprocess`. NaN or infinite values are refused either way
        (:class:`~cnnwidgets.core.InputError`, naming the input), since they would give
        all-zero maps with a NaN score.
        """
        if isinstance(images, torch.Tensor) and images.ndim == 4:
            return ready_input(images, self.in_channels, self.dtype, self.device)
        x = self.preprocess(images)
        check_finite(x, "input prepared from the image(s)")
        return x

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(
            batch, self.in_channels, *self.input_size, device=self.device, dtype=self.dtype
        )

    # ---- forward ------------------------------------------------------------------------
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Forward pass of a ready input, returning the selected logits (no state handling)."""
        classes = len(self._labels) if self._labels is not None else None
        return select_output(self.module(x), self.output, classes=classes, batch=x.shape[0])

    def predict(self, images: Any, k: int = 5):
        """Top-k classes: [(index, label, probability), ...]; a list of images gives a list of
        those. ``k`` larger than the number of classes gives every class."""
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ParameterError(f"k must be a positive whole number, got {k!r}")
        x = self.prepare(images)
        with preserved(self.module), torch.inference_mode():
            probs = self.logits(x).softmax(-1)
        k = min(k, probs.shape[-1])
        top = probs.topk(k, dim=-1)
        rows = [
            [(int(i), self.label(int(i)), float(p)) for p, i in zip(ps, ix)]
            for ps, ix in zip(top.values.cpu(), top.indices.cpu())
        ]
        single = not isinstance(images, (list, tuple)) and not (
            isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[0] > 1
        )
        return rows[0] if single else rows

    # ---- layers -------------------------------------------------------------------------
    @cached_property
    def layer_info(self) -> LayerTable:
        """Every inspectable layer with its output shape, from one probe forward pass.

        Iterates module names; lookup also takes ``"name@k"``, one call of a module that runs
        several times per forward pass (see :meth:`resolve_layer`)."""
        return LayerTable(probe_layers(self.module, self.example_input()))

    @property
    def layers(self) -> list[str]:
        """Names of the inspectable modules, in ``named_modules()`` order."""
        return list(self.layer_info)

    @property
    def layer_names(self) -> list[str]:
        """Every name an engine takes: module names, with ``"name@0"``, ``"name@1"``, ... in
        place of a module that runs more than once per forward pass."""
        return self.layer_info.names()

    @property
    def spatial_layers(self) -> list[str]:
        """The names in :attr:`layer_names` whose output is a (C, H, W) map (what the layer
        pickers of the widgets list)."""
        return [
            a.name for info in self.layer_info.values() for a in info.addressable() if a.spatial
        ]

    @property
    def conv_layers(self) -> list[str]:
        """Layers that hold convolution weights (for the filter views)."""
        mods = dict(self.module.named_modules())
        return [n for n in self.layers if isinstance(mods[n], nn.modules.conv._ConvNd)]

    @property
    def default_cam_layer(self) -> str:
        """The last layer (in execution order) whose output is still a spatial map; the call
        of a module that runs several times is named ``"name@k"``."""
        spatial = [a for info in self.layer_info.values() for a in info.addressable() if a.spatial]
        if not spatial:
            raise ModelError(
                f"{self.name} has no layer with a spatial (C, H, W) output, so there is no map "
                f"to show (no CAM, no feature maps); its layers: {', '.join(self.layers)}"
            )
        return max(spatial, key=lambda info: info.order).name

    def check_layer(self, name: str) -> str:
        """``name`` if an engine can use it: a :class:`LayerNotFoundError` lists the valid
        names, an :class:`~cnnwidgets.core.layers.AmbiguousLayerError` the calls of a module
        that runs several times."""
        self.layer_info.resolve(name)
        return name

    def resolve_layer(self, name: str) -> tuple[nn.Module, int]:
        """``(module, call)`` of a layer name, for the core's hooks: ``"layer4.1.relu@1"`` ->
        (the relu module, 1); a module that runs once -> (module, 0). Errors as
        :meth:`check_layer`."""
        info = self.layer_info.resolve(name)
        return self.module.get_submodule(info.module_name), info.call or 0

    def module_of(self, name: str) -> nn.Module:
        """The submodule of a layer name (``"name@k"`` too: all calls share one module, so
        its weights are the same); the error lists valid names, closest first."""
        if name not in self.layer_info:
            raise LayerNotFoundError(name, self.layer_names)
        return self.module.get_submodule(self.layer_info[name].module_name)
