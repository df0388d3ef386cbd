"""What every comparison module shares: the run settings and the availability of our engines."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

import cnnwidgets as cw


@dataclass
class Settings:
    device: str = "cpu"
    quick: bool = False  # tiny settings, agreement only (no timing)
    budget_s: float = 30.0  # timing budget per row (see timing.time_interleaved)
    min_rounds: int = 3
    max_rounds: int = 15
    profile: bool = False  # print torch.profiler's top ops of our side per row
    peer_layout: str = "pytorch"  # the peers' module: "pytorch" (NCHW) or "ours" (see peer_model)
    extra: dict = field(default_factory=dict)


PEER_LAYOUTS = ("pytorch", "ours")
_PEER_COPIES: dict[int, tuple] = {}


def peer_model(model, s: Settings):
    """The model the peers run.

    ``cw.load_model`` stores the models it builds channels-last on the CPU (see
    ``Model.set_channels_last``); torchvision builds them NCHW, and that is the module a
    Captum, pytorch-grad-cam or lucent user has. By default (``peer_layout="pytorch"``) the
    peers get a copy of our module, same weights, in that layout; ``"ours"`` gives them our
    channels-last module itself, which isolates the engines from the layout. The floors always
    run on our module.
    """
    if s.peer_layout == "ours" or not model.channels_last:
        return model
    kept = _PEER_COPIES.get(id(model))
    if kept is None or kept[0] is not model:
        twin = copy.copy(model)
        twin.module = copy.deepcopy(model.module).to(memory_format=torch.contiguous_format)
        twin._layout_follows_device = False
        kept = _PEER_COPIES[id(model)] = (model, twin)
    return kept[1]


_HOMES = {
    "cam": "cnnwidgets.engines.cam",
    "saliency": "cnnwidgets.engines.saliency",
    "ActivationSpectrum": "cnnwidgets.engines.spectrum",
    "visualize": "cnnwidgets.engines.featureviz",
}


def engine(name: str):
    """Our public ``cw.<name>`` (or, before it is exported, its engine module's), or None while
    it has not landed: the runner then reports the row as not available instead of failing."""
    fn = getattr(cw, name, None)
    if fn is None and name in _HOMES:
        import importlib

        try:
            fn = getattr(importlib.import_module(_HOMES[name]), name, None)
        except ImportError:
            fn = None
    return fn


class Logits(nn.Module):
    """The model as a module that returns logits: what the peers expect to call."""

    def __init__(self, model):
        super().__init__()
        self.net = model.module
        self._model = model

    def forward(self, x):
        return self._model.logits(x)


def load(name: str, device: str):
    """The benchmark models: the pretrained Lite0, torchvision models with random weights."""
    torch.manual_seed(0)
    pretrained = name == "efficientnet_lite0"
    return cw.load_model(name, pretrained=pretrained, device=device)
