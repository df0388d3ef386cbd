"""Pre-activation layers: the signed maps a ReLU-like activation reads, where the negative
side of Distill's six columns lives (after a ReLU every minimum is 0)."""

from __future__ import annotations

import torch
from torch import nn

from ...core.guard import preserved
from ...core.hooks import forward_hooks
from ...core.model_base import as_model

# Modules whose input is "pre-activation": a ReLU-like nonlinearity squashes the negative side.
ACTIVATIONS = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
)


def _activation_inputs(m) -> dict[str, list[str]]:
    """activation layer name -> names of the layers whose outputs it reads, one per call (an
    activation module may be called several times, as ResNet's ``relu``); one probe forward."""
    modules = {n: mod for n, mod in m.module.named_modules() if n and n in m.layer_info}
    produced: dict[int, str] = {}
    feeds: dict[str, list[str]] = {}
    outputs = []  # keeps every output alive, so that no id is reused during the probe

    def record_output(name):
        def hook(_mod, _inp, out):
            outputs.append(out)
            if isinstance(out, torch.Tensor):
                produced.setdefault(id(out), name)

        return hook

    def record_input(name):
        def hook(_mod, inputs):
            if inputs and isinstance(inputs[0], torch.Tensor):
                src = produced.get(id(inputs[0]))
                if src is not None and src not in feeds.setdefault(name, []):
                    feeds[name].append(src)

        return hook

    hooks = {mod: record_output(n) for n, mod in modules.items()}
    pre_hooks = {mod: record_input(n) for n, mod in modules.items() if isinstance(mod, ACTIVATIONS)}
    with preserved(m.module), torch.inference_mode(), forward_hooks(hooks, pre_hooks):
        m.module(m.example_input())
    return feeds


def pre_activation_layers(model) -> list[str]:
    """Layers whose output is the input of an activation (ReLU, ReLU6, SiLU, ...): signed maps,
    the ones to scan for the negative columns. In ``model.layers`` order."""
    m = as_model(model)
    sources = {src for srcs in _activation_inputs(m).values() for src in srcs}
    return [n for n in m.layers if n in sources]


def pre_activation_layer(model, layer: str) -> str:
    """The layer whose output an activation layer reads (``_blocks.5._act1`` -> ``_blocks.5._bn1``).

    A layer that is not an activation is returned as it is. An activation module called more
    than once (ResNet's shared ``relu``) gives the layer before its first call.
    """
    m = as_model(model)
    m.check_layer(layer)
    if not isinstance(m.module_of(layer), ACTIVATIONS):
        return layer
    feeds = _activation_inputs(m).get(layer)
    if not feeds:
        raise ValueError(
            f"the input of {layer!r} is not the output of a named layer (it is "
            "computed inside a parent's forward); pick the layer by hand"
        )
    return feeds[0]
