"""Feature visualization: optimise images that excite a unit of a network.

Four small modules, after lucid/lucent: :mod:`.param` (how an image is parameterized),
:mod:`.transforms` (random transforms for robustness), :mod:`.objectives` (what to maximise,
composable with ``+``, ``-``, ``*``) and :mod:`.gradient_ascent` (the loop, an iterator of frames).
Each of the first three keeps a registry (``PARAMETERIZATIONS``, ``TRANSFORMS``,
``OBJECTIVES``) that the widgets build their pickers from.
"""
from . import objectives, param, transforms
from .objectives import (OBJECTIVES, Objective, ObjectiveError, as_objective, blur, channel, class_logit,
                         deepdream, direction, diversity, l1, l2, layer, neuron,
                         total_variation)
from .gradient_ascent import (Ascent, Frame, FrameImages, Render, Visualization, ascent, optimized_pair,
                     render_iter, visualize)
from .param import PARAMETERIZATIONS, FourierParam, ImageParam, MacoParam, PixelParam
from .transforms import (TRANSFORMS, Compose, Jitter, Pad, RandomRotate, RandomScale, Resize,
                         standard_transforms)

__all__ = [
    "visualize", "ascent", "Ascent", "optimized_pair", "render_iter", "Render", "Frame", "FrameImages",
    "Visualization", "PARAMETERIZATIONS", "OBJECTIVES", "TRANSFORMS", "PixelParam", "FourierParam", "MacoParam",
    "Objective", "ObjectiveError", "as_objective", "channel", "neuron", "layer", "deepdream",
    "class_logit", "direction", "diversity", "total_variation", "l1", "l2", "blur",
    "ImageParam", "Compose", "Pad", "Jitter", "RandomScale", "RandomRotate", "Resize",
    "standard_transforms", "objectives", "param", "transforms",
]
