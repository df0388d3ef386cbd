"""Feature visualization: optimise images that excite a unit of a network.

Four small modules, after lucid/lucent: :mod:`.param` (how an image is parameterized),
:mod:`.transforms` (random transforms for robustness), :mod:`.objectives` (what to maximise,
composable with ``+``, ``-``, ``*``) and :mod:`.render` (the loop, an iterator of frames).
"""
from . import objectives, param, transforms
from .objectives import (Objective, ObjectiveError, as_objective, blur, channel, class_logit,
                         deepdream, direction, diversity, l1, l2, layer, neuron,
                         total_variation)
from .param import ImageParam
from .render import Frame, FrameImages, Render, Visualization, render_iter, visualize
from .transforms import (Compose, Jitter, Pad, RandomRotate, RandomScale, Resize,
                         standard_transforms)

__all__ = [
    "visualize", "render_iter", "Render", "Frame", "FrameImages", "Visualization",
    "Objective", "ObjectiveError", "as_objective", "channel", "neuron", "layer", "deepdream",
    "class_logit", "direction", "diversity", "total_variation", "l1", "l2", "blur",
    "ImageParam", "Compose", "Pad", "Jitter", "RandomScale", "RandomRotate", "Resize",
    "standard_transforms", "objectives", "param", "transforms",
]
