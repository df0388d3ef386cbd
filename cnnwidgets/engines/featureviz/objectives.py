"""Objectives: what a render maximises, composable with ``+``, ``-`` and scalar ``*``.

An :class:`Objective` maps the activations of one forward pass to one value per image, shape
(N,). Values stay per image so that a batch can hold N independent renders (a list of
objectives renders as one batch, image k maximising objective k) and a sum of objectives
still says which image scored what. Each objective also names the layers it reads, so the
render loop hooks only those and can stop the forward pass after the deepest one.

Two keys in the activations dict are not layers: :data:`INPUT` is the image batch in [0, 1]
before the random transforms (for regularisers), :data:`LOGITS` the model's output (class
objectives need the full forward pass).

Values are "higher is better": the loop minimises ``-sum(values)``; ``-obj`` renders the
Distill negative images (what turns the unit off most).

Every objective factory is an entry of :data:`OBJECTIVES` (its parameters, a reference); the
ones flagged ``unit=True`` are what a FeatureVisualizer can pick as its main objective, with
``layer`` and ``n`` (the channel) taken from its layer and channel controls. Register your own
with ``@cw.featureviz.OBJECTIVES.register(name, unit=True, params=[...])``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ...core.errors import CNNWidgetsError
from ...core.registry import Param, Registry

INPUT = "<input>"
LOGITS = "<logits>"

Acts = dict
Validator = Callable[[Any], None]


OBJECTIVES = Registry("objective")


class ObjectiveError(CNNWidgetsError, ValueError):
    """An objective that does not fit the model: bad string, channel or class out of range."""


class Objective:
    """A function of activations -> (N,) values, with the layers it needs and a description."""

    def __init__(
        self,
        fn: Callable[[Acts], torch.Tensor],
        layers: Iterable[str] = (),
        name: str = "objective",
        validators: Sequence[Validator] = (),
        batchwise: bool = False,
    ):
        self.fn = fn
        self.layers = frozenset(layers)
        self.name = name
        self.validators = tuple(validators)
        # True when an image's value depends on the other images of the batch (diversity):
        # the render loop must then run the whole batch in one forward pass.
        self.batchwise = batchwise

    def __call__(self, acts: Acts) -> torch.Tensor:
        return self.fn(acts)

    def __repr__(self) -> str:
        return self.name

    def validate(self, model) -> Objective:
        """Raise a clear error if a layer, channel, position or class does not exist."""
        for check in self.validators:
            check(model)
        return self

    # ---- arithmetic ---------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, numbers.Real):
            if other == 0:
                return self
            return Objective(
                lambda a: self(a) + other,
                self.layers,
                f"{self.name} + {other:g}",
                self.validators,
                self.batchwise,
            )
        other = as_objective(other)
        return Objective(
            lambda a: self(a) + other(a),
            self.layers | other.layers,
            f"{self.name} + {other.name}",
            self.validators + other.validators,
            self.batchwise or other.batchwise,
        )

    def __radd__(self, other):
        # sum([...]) starts from 0
        return self.__add__(other)

    def __neg__(self):
        return Objective(
            lambda a: -self(a),
            self.layers,
            f"-{_paren(self.name)}",
            self.validators,
            self.batchwise,
        )

    def __sub__(self, other):
        if isinstance(other, numbers.Real):
            return self + (-other)
        other = as_objective(other)
        return Objective(
            lambda a: self(a) - other(a),
            self.layers | other.layers,
            f"{self.name} - {_paren(other.name)}",
            self.validators + other.validators,
            self.batchwise or other.batchwise,
        )

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, numbers.Real):
            raise TypeError(
                f"an objective can only be multiplied by a number, not a {type(other).__name__}"
            )
        factor = float(other)
        return Objective(
            lambda a: factor * self(a),
            self.layers,
            f"{factor:g} * {_paren(self.name)}",
            self.validators,
            self.batchwise,
        )

    __rmul__ = __mul__

    def __truediv__(self, other):
        if not isinstance(other, numbers.Real):
            raise TypeError(
                f"an objective can only be divided by a number, not a {type(other).__name__}"
            )
        return self * (1.0 / float(other))


def _paren(name: str) -> str:
    return f"({name})" if (" + " in name or " - " in name) else name


# ---- validation helpers -----------------------------------------------------------------
def _layer_check(layer: str) -> Validator:
    def check(model):
        model.check_layer(layer)

    return check


def _channel_check(layer: str, channel: int) -> Validator:
    def check(model):
        model.check_layer(layer)
        n = model.layer_info[layer].channels
        if not 0 <= channel < n:
            raise ObjectiveError(
                f"channel {channel} is out of range for layer {layer!r}, "
                f"which has {n} channels (0..{n - 1})"
            )

    return check


def _position_check(layer: str, x: int | None, y: int | None) -> Validator:
    def check(model):
        shape = model.layer_info[layer].shape
        if len(shape) != 3:
            raise ObjectiveError(f"layer {layer!r} has no spatial positions (shape {shape})")
        h, w = shape[1:]
        if (x is not None and not 0 <= x < w) or (y is not None and not 0 <= y < h):
            raise ObjectiveError(
                f"position (x={x}, y={y}) is outside layer {layer!r}, whose "
                f"maps are {w} wide and {h} high at the model's input size"
            )

    return check


def _class_check(index: int) -> Validator:
    def check(model):
        n = model.num_classes
        if not 0 <= index < n:
            raise ObjectiveError(f"class {index} is out of range: the model has {n} classes")

    return check


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


# ---- objectives on units ------------------------------------------------------------------
def channel(layer: str, n: int) -> Objective:
    """Mean activation of channel ``n`` of ``layer`` over all positions."""
    n = int(n)

    def fn(acts):
        return _flat(acts[layer][:, n]).mean(1)

    return Objective(fn, {layer}, f"channel({layer}:{n})", [_channel_check(layer, n)])


def neuron(layer: str, n: int, x: int | None = None, y: int | None = None) -> Objective:
    """Activation of channel ``n`` at one position; default the centre (lucid's choice:
    the lower-right of the middle four for even sizes)."""
    n = int(n)

    def fn(acts):
        t = acts[layer]
        if t.ndim != 4:
            raise ObjectiveError(
                f"layer {layer!r} has no spatial positions (shape {tuple(t.shape)})"
            )
        h, w = t.shape[2:]
        yy, xx = (h // 2 if y is None else y), (w // 2 if x is None else x)
        return t[:, n, yy, xx]

    where = "centre" if x is None and y is None else f"x={x}, y={y}"
    return Objective(
        fn,
        {layer},
        f"neuron({layer}:{n} @ {where})",
        [_channel_check(layer, n), _position_check(layer, x, y)],
    )


def layer(name: str) -> Objective:
    """DeepDream: mean squared activation of a whole layer (every channel amplified)."""

    def fn(acts):
        return _flat(acts[name] ** 2).mean(1)

    return Objective(fn, {name}, f"deepdream({name})", [_layer_check(name)])


deepdream = layer


def class_logit(index: int) -> Objective:
    """The logit of class ``index`` (needs the full forward pass)."""
    index = int(index)

    def fn(acts):
        return acts[LOGITS][:, index]

    return Objective(fn, {LOGITS}, f"class({index})", [_class_check(index)])


def direction(layer: str, vector, *, cossim: bool = True) -> Objective:
    """Activation along a direction in channel space, averaged over positions.

    ``cossim`` (default, as lucid/lucent): the cosine similarity with ``vector`` at each
    position, so the render aligns with the direction rather than just growing; otherwise
    the plain dot product.
    """
    v = torch.as_tensor(vector, dtype=torch.float32).flatten()

    def fn(acts):
        t = acts[layer]
        d = v.to(device=t.device, dtype=t.dtype).view(1, -1, *([1] * (t.ndim - 2)))
        if cossim:
            return _flat(F.cosine_similarity(t, d, dim=1)).mean(1)
        return _flat((t * d).sum(1)).mean(1)

    def check(model):
        model.check_layer(layer)
        c = model.layer_info[layer].channels
        if v.numel() != c:
            raise ObjectiveError(
                f"direction has {v.numel()} values but layer {layer!r} has {c} channels"
            )

    return Objective(fn, {layer}, f"direction({layer})", [check])


def diversity(layer: str) -> Objective:
    """Push the images of a batch apart: minus each image's mean cosine similarity between
    its Gram matrix (channel co-activations) at ``layer`` and the other images' (lucid).

    A unit often responds to several things; with ``batch=N`` and ``channel + w *
    diversity``, the N renders show different ones. Zero for a batch of one.
    """

    def fn(acts):
        t = acts[layer]
        b, c = t.shape[:2]
        if b < 2:
            return t.new_zeros(b)
        f = t.reshape(b, c, -1)
        grams = F.normalize((f @ f.transpose(1, 2)).reshape(b, -1), dim=1)
        sim = grams @ grams.T
        off_diagonal = sim.sum(1) - sim.diagonal()
        return -off_diagonal / (b - 1)

    return Objective(fn, {layer}, f"diversity({layer})", [_layer_check(layer)], batchwise=True)


# ---- regularisers on the image (penalties: subtract them, e.g. obj - 0.1 * total_variation())
def total_variation() -> Objective:
    """Mean absolute difference between neighbouring pixels of each image (penalty)."""

    def fn(acts):
        x = acts[INPUT]
        dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean((1, 2, 3))
        dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean((1, 2, 3))
        return dx + dy

    return Objective(fn, {INPUT}, "total_variation()")


def l1(constant: float = 0.5) -> Objective:
    """Mean |pixel - constant| of each image (penalty; grey by default)."""

    def fn(acts):
        return _flat((acts[INPUT] - constant).abs()).mean(1)

    return Objective(fn, {INPUT}, f"l1({constant:g})")


def l2(constant: float = 0.5) -> Objective:
    """Root mean square of pixel - constant for each image (penalty)."""

    def fn(acts):
        return _flat((acts[INPUT] - constant) ** 2).mean(1).add(1e-12).sqrt()

    return Objective(fn, {INPUT}, f"l2({constant:g})")


def blur() -> Objective:
    """Mean squared difference between each image and its 3x3 blur, the blur held fixed
    (penalty): a gradient step on it pulls the image towards its blurred self, the
    blur-every-step regulariser of Nguyen et al. (2015) as lucid writes it."""

    def fn(acts):
        x = acts[INPUT]
        c = x.shape[1]
        with torch.no_grad():
            k = torch.tensor(
                [[0.5, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 0.5]], device=x.device, dtype=x.dtype
            )
            k = k.expand(c, 1, 3, 3)
            ones = torch.ones_like(x[:1])
            blurred = F.conv2d(x, k, padding=1, groups=c) / F.conv2d(ones, k, padding=1, groups=c)
        return _flat((x - blurred) ** 2).mean(1)

    return Objective(fn, {INPUT}, "blur()")


# ---- parsing --------------------------------------------------------------------------------
def as_objective(obj) -> Objective:
    """An :class:`Objective` passes through; ``"layer:channel"`` is :func:`channel`
    (``"-layer:channel"`` its negative)."""
    if isinstance(obj, Objective):
        return obj
    if isinstance(obj, str):
        text = obj.strip()
        sign = 1
        if text.startswith("-"):
            sign, text = -1, text[1:].strip()
        name, sep, idx = text.rpartition(":")
        if not sep or not name.strip():
            raise ObjectiveError(
                f"objective string {obj!r} should look like 'layer:channel', e.g. '_blocks.10:12'"
            )
        try:
            n = int(idx)
        except ValueError:
            raise ObjectiveError(f"channel in {obj!r} is not a whole number: {idx!r}") from None
        o = channel(name.strip(), n)
        return -o if sign < 0 else o
    raise TypeError(
        f"an objective must be an Objective or a 'layer:channel' string, got a {type(obj).__name__}"
    )


# ---- the registry --------------------------------------------------------------------------------
# ``layer`` and ``n`` are filled from a widget's layer and channel controls, not its panel.
_LAYER = Param("layer", "str", None, ui=False, help="the layer's name")
_N = Param("n", "int", 0, min=0, ui=False, help="the channel")
_FV = "Olah et al. 2017, Distill, doi:10.23915/distill.00007"
OBJECTIVES.register(
    "channel",
    label="channel",
    unit=True,
    params=(_LAYER, _N),
    reference=_FV,
    description="mean activation of one channel over all positions",
)(channel)
OBJECTIVES.register(
    "neuron",
    label="neuron",
    unit=True,
    reference=_FV,
    description="activation of one channel at one position (default: centre)",
    params=(
        _LAYER,
        _N,
        Param("x", "int", None, min=0, ui=False),
        Param("y", "int", None, min=0, ui=False),
    ),
)(neuron)
OBJECTIVES.register(
    "deepdream",
    label="layer (DeepDream)",
    unit=True,
    params=(_LAYER,),
    reference="Mordvintsev et al. 2015, Google Research blog",
    description="mean squared activation of a whole layer",
    aliases=("layer",),
)(layer)
OBJECTIVES.register(
    "class_logit",
    label="class",
    unit=True,
    params=(Param("index", "int", 0, min=0, label="class"),),
    reference="Simonyan et al. 2014, arXiv:1312.6034",
    description="the logit of one class",
)(class_logit)
OBJECTIVES.register(
    "direction",
    label="direction",
    params=(_LAYER, Param("vector", "any"), Param("cossim", "bool", True)),
    reference="Olah et al. 2018, Distill, doi:10.23915/distill.00010",
    description="activation along a direction in channel space",
)(direction)
OBJECTIVES.register(
    "diversity",
    label="diversity",
    params=(_LAYER,),
    reference=_FV,
    description="pushes the images of a batch apart (Gram matrices)",
)(diversity)
OBJECTIVES.register(
    "total_variation",
    label="total variation",
    penalty=True,
    reference=_FV,
    description="differences between neighbouring pixels",
)(total_variation)
OBJECTIVES.register(
    "l1",
    label="L1",
    penalty=True,
    params=(Param("constant", "float", 0.5),),
    description="mean |pixel - constant|",
)(l1)
OBJECTIVES.register(
    "l2",
    label="L2",
    penalty=True,
    params=(Param("constant", "float", 0.5),),
    description="root mean square of pixel - constant",
)(l2)
OBJECTIVES.register(
    "blur",
    label="blur",
    penalty=True,
    reference="Nguyen et al. 2015, arXiv:1412.1897",
    description="distance of each image to its own blur",
)(blur)
