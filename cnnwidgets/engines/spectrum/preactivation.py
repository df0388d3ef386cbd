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


def _activation_inputs(m) -> dict[str, list[str | None]]:
    """activation layer name -> for each of its calls, the addressable name of the layer whose
    output it reads, or None when its input is computed inside a parent's forward (ResNet's
    second ``relu`` reads ``bn2(...) + identity``); one probe forward."""
    modules = {n: mod for n, mod in m.module.named_modules() if n and n in m.layer_info}
    # id of an output tensor -> (its layer's addressable name, the tensor's version then)
    produced: dict[int, tuple[str, int]] = {}
    calls: dict[str, int] = {}
    feeds: dict[str, list[str | None]] = {}
    outputs = []  # keeps every output alive, so that no id is reused during the probe

    def record_output(name):
        info = m.layer_info[name]

        def hook(_mod, _inp, out):
            k = calls.get(name, 0)
            calls[name] = k + 1
            outputs.append(out)
            if isinstance(out, torch.Tensor) and id(out) not in produced:
                label = name if info.calls == 1 else f"{name}@{k}"
                produced[id(out)] = (label, out._version)

        return hook

    def record_input(name):
        def hook(_mod, inputs):
            src = None
            if inputs and isinstance(inputs[0], torch.Tensor):
                found = produced.get(id(inputs[0]))
                # An in-place op since (``out += identity``) keeps the tensor object but not
                # the layer's values: the activation then reads something no layer returned.
                if found is not None and found[1] == inputs[0]._version:
                    src = found[0]
            feeds.setdefault(name, []).append(src)

        return hook

    hooks = {mod: record_output(n) for n, mod in modules.items()}
    pre_hooks = {mod: record_input(n) for n, mod in modules.items() if isinstance(mod, ACTIVATIONS)}
    # no_grad, not inference_mode: inference tensors have no version counter.
    with preserved(m.module), torch.no_grad(), forward_hooks(hooks, pre_hooks):
        m.module(m.example_input())
    return feeds


def pre_activation_layers(model) -> list[str]:
    """Layers whose output is the input of an activation (ReLU, ReLU6, SiLU, ...): signed maps,
    the ones to scan for the negative columns. In ``model.layer_names`` order."""
    m = as_model(model)
    sources = {src for srcs in _activation_inputs(m).values() for src in srcs if src}
    return [n for n in m.layer_names if n in sources]


def pre_activation_layer(model, layer: str) -> str:
    """The layer whose output an activation layer reads (``_blocks.5._act1`` -> ``_blocks.5._bn1``).

    A layer that is not an activation is returned as it is. An activation module that runs
    more than once (ResNet's shared ``relu``) is named by its call, ``"layer4.1.relu@0"``.
    """
    m = as_model(model)
    m.check_layer(layer)
    if not isinstance(m.module_of(layer), ACTIVATIONS):
        return layer
    call = m.layer_info[layer].call or 0
    feeds = _activation_inputs(m).get(m.layer_info[layer].module_name, [])
    src = feeds[call] if call < len(feeds) else None
    if src is None:
        raise ValueError(
            f"the input of {layer!r} is not the output of a named layer (it is "
            "computed inside a parent's forward); pick the layer by hand"
        )
    return src
