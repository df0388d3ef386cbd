"""Objectives: what a render maximises, composable with ``+``, ``-`` and scalar ``*``.

An :class:`Objective` maps the activations of one forward pass to one value per image, shape
(N,). Values stay per image so that a batch can hold N independent renders (a list of
objectives renders as one batch, image k maximising objective k) and a sum of objectives
still says which image scored what. Each objective also names the layers it reads, so the
render loop hooks only those and can stop the forward pass after the deepest one.

Some keys of the activations dict are not layers: :data:`INPUT` is the image batch in [0, 1]
before the random transforms (for regularisers), :data:`LOGITS` the model's output (class
objectives need the full forward pass), :data:`INDEX` the position in the whole batch of each
image in the dict (the loop may run the batch in chunks) and :data:`BATCH_SIZE` the number of
images rendered. An objective that reads the position (``channel_interpolate``) keeps images
independent; one that compares images (``diversity``, ``alignment``) is ``batchwise``.

Objectives with a target image (``activation_match``, ``style``, ``content``, ``accentuate``)
load it when made and compute its activations when bound to a run (:meth:`Objective.bind`,
which the loop calls before the first step), at the render's input size.

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
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ...core.errors import CNNWidgetsError
from ...core.registry import Param, Registry
from .targets import TargetImage

INPUT = "<input>"
LOGITS = "<logits>"
INDEX = "<index>"
BATCH_SIZE = "<batch size>"

Acts = dict
Validator = Callable[[Any], None]
Binder = Callable[["RenderSpec"], None]


OBJECTIVES = Registry("objective")


class ObjectiveError(CNNWidgetsError, ValueError):
    """An objective that does not fit the model: bad string, channel or class out of range."""


def _size2(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


@dataclass(frozen=True)
class RenderSpec:
    """The run an objective is bound to (:meth:`Objective.bind`): the ``model``, how many
    images it renders (``batch``), the size they are optimised at (``size``) and the size the
    model sees them at (``input_size``); both sizes default to the model's input size."""

    model: Any
    batch: int = 1
    input_size: tuple[int, int] | None = None
    size: tuple[int, int] | None = None

    def __post_init__(self):
        input_size = _size2(self.model.input_size if self.input_size is None else self.input_size)
        object.__setattr__(self, "input_size", input_size)
        object.__setattr__(self, "size", input_size if self.size is None else _size2(self.size))


class Objective:
    """A function of activations -> (N,) values, with the layers it needs and a description.

    ``validators``: checks ``f(model)`` that raise a clear error for a layer, channel or class
    that does not exist. ``binders``: ``f(spec)`` run once per render before its first step
    (:meth:`bind`), for what depends on the run: a target image's activations at the render's
    input size, a batch size the objective needs.
    """

    def __init__(
        self,
        fn: Callable[[Acts], torch.Tensor],
        layers: Iterable[str] = (),
        name: str = "objective",
        validators: Sequence[Validator] = (),
        batchwise: bool = False,
        binders: Sequence[Binder] = (),
    ):
        self.fn = fn
        self.layers = frozenset(layers)
        self.name = name
        self.validators = tuple(validators)
        # True when an image's value depends on the other images of the batch (diversity):
        # the render loop must then run the whole batch in one forward pass.
        self.batchwise = batchwise
        self.binders = tuple(binders)

    def __call__(self, acts: Acts) -> torch.Tensor:
        return self.fn(acts)

    def __repr__(self) -> str:
        return self.name

    def validate(self, model) -> Objective:
        """Raise a clear error if a layer, channel, position or class does not exist."""
        for check in self.validators:
            check(model)
        return self

    def bind(self, spec: RenderSpec) -> Objective:
        """Validate against ``spec.model``, then prepare for that run (target activations are
        computed here, once). The render loop calls this before its first step. An objective
        keeps what its last binding computed: two runs at the same time at different sizes
        (or on different models) need an objective each."""
        self.validate(spec.model)
        for binder in self.binders:
            binder(spec)
        return self

    def with_binder(self, binder: Binder) -> Objective:
        """The same objective with one more binder."""
        return Objective(
            self.fn,
            self.layers,
            self.name,
            self.validators,
            self.batchwise,
            (*self.binders, binder),
        )

    # ---- arithmetic ---------------------------------------------------------------------
    def _derived(self, fn, name: str, *others: Objective) -> Objective:
        parts = (self, *others)
        return Objective(
            fn,
            frozenset().union(*(p.layers for p in parts)),
            name,
            tuple(dict.fromkeys(v for p in parts for v in p.validators)),
            any(p.batchwise for p in parts),
            tuple(dict.fromkeys(b for p in parts for b in p.binders)),
        )

    def __add__(self, other):
        if isinstance(other, numbers.Real):
            if other == 0:
                return self
            return self._derived(lambda a: self(a) + other, f"{self.name} + {other:g}")
        other = as_objective(other)
        return self._derived(lambda a: self(a) + other(a), f"{self.name} + {other.name}", other)

    def __radd__(self, other):
        # sum([...]) starts from 0
        return self.__add__(other)

    def __neg__(self):
        return self._derived(lambda a: -self(a), f"-{_paren(self.name)}")

    def __sub__(self, other):
        if isinstance(other, numbers.Real):
            return self + (-other)
        other = as_objective(other)
        return self._derived(
            lambda a: self(a) - other(a), f"{self.name} - {_paren(other.name)}", other
        )

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, numbers.Real):
            raise TypeError(
                f"an objective can only be multiplied by a number, not a {type(other).__name__}"
            )
        factor = float(other)
        return self._derived(lambda a: factor * self(a), f"{factor:g} * {_paren(self.name)}")

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


def _length_check(layer: str, n: int, what: str) -> Validator:
    def check(model):
        model.check_layer(layer)
        c = model.layer_info[layer].channels
        if n != c:
            raise ObjectiveError(f"{what} has {n} values but layer {layer!r} has {c} channels")

    return check


def _class_check(index: int) -> Validator:
    def check(model):
        n = model.num_classes
        if not 0 <= index < n:
            raise ObjectiveError(f"class {index} is out of range: the model has {n} classes")

    return check


def _spatial_check(layer: str) -> Validator:
    def check(model):
        model.check_layer(layer)
        shape = model.layer_info[layer].shape
        if len(shape) != 3:
            raise ObjectiveError(f"layer {layer!r} has no spatial positions (shape {shape})")

    return check


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


def _index(acts: Acts, n: int) -> torch.Tensor:
    """The batch positions of the ``n`` images in ``acts`` (all of them when called directly
    on a whole batch)."""
    index = acts.get(INDEX)
    return torch.arange(n) if index is None else index


def _at(t: torch.Tensor, layer: str, x: int | None, y: int | None) -> torch.Tensor:
    """(N, C) activations at one position; default the centre (lucid's choice: the
    lower-right of the middle four for even sizes)."""
    if t.ndim != 4:
        raise ObjectiveError(f"layer {layer!r} has no spatial positions (shape {tuple(t.shape)})")
    h, w = t.shape[2:]
    return t[:, :, h // 2 if y is None else y, w // 2 if x is None else x]


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
        return _at(acts[layer], layer, x, y)[:, n]

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

    return Objective(
        fn, {layer}, f"direction({layer})", [_length_check(layer, v.numel(), "direction")]
    )


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


def direction_neuron(
    layer: str, vector, x: int | None = None, y: int | None = None, *, cossim: bool = True
) -> Objective:
    """:func:`direction` at one position (default the centre, as :func:`neuron`): the cosine
    similarity of the activation vector there with ``vector`` (lucid/lucent
    ``direction_neuron``), or with ``cossim=False`` the dot product."""
    v = torch.as_tensor(vector, dtype=torch.float32).flatten()

    def fn(acts):
        a = _at(acts[layer], layer, x, y)
        d = v.to(device=a.device, dtype=a.dtype)[None]
        return F.cosine_similarity(a, d, dim=1) if cossim else (a * d).sum(1)

    where = "centre" if x is None and y is None else f"x={x}, y={y}"
    return Objective(
        fn,
        {layer},
        f"direction_neuron({layer} @ {where})",
        [_length_check(layer, v.numel(), "direction"), _position_check(layer, x, y)],
    )


# ---- objectives with a target image: feature inversion, style transfer, accentuation ----------
def _target(source, layers, what: str) -> tuple[TargetImage, Binder]:
    target = TargetImage(source, layers, what)
    return target, target.bind


def _unbound(target: TargetImage) -> ObjectiveError:
    return ObjectiveError(
        f"{target.what}: the objective is not bound to a model yet; render it with "
        "cw.visualize, or call objective.bind(RenderSpec(model)) first"
    )


def _target_acts(target: TargetImage, layer: str, acts: Acts, t: torch.Tensor) -> torch.Tensor:
    """The target's activations for the images of ``acts`` (``t``: theirs at ``layer``)."""
    if target.acts is None:
        raise _unbound(target)
    return target.get(layer, _index(acts, t.shape[0])).to(t.dtype)


def activation_match(layer: str, image) -> Objective:
    """Feature inversion (Mahendran & Vedaldi 2015): make the rendered image's activations at
    ``layer`` point the same way as those of ``image``, flattened over channels and positions:

        value = <A(x), A(t)> / (|A(x)| |A(t)|)          in [-1, 1]

    The cosine rather than an L2 distance (Mahendran & Vedaldi) or lucid's dot * cossim^p: it
    ignores the activations' scale, so one weight suits every layer, and 1 means a perfect
    inversion at any layer. ``image``: one target, or one per rendered image.

    It compares position by position: render with ``transforms=None`` (or a jitter of a pixel
    or two). The standard transforms shift and turn the render against the fixed target: on
    EfficientNet-Lite0 (``_blocks.6``, 64 px at 96, 96 steps) they end at a cosine of about
    0.65, no transforms at about 0.95.
    """
    target, binder = _target(image, [layer], f"the target image of activation_match({layer})")

    def fn(acts):
        t = acts[layer]
        ref = _target_acts(target, layer, acts, t)
        return F.cosine_similarity(_flat(t), _flat(ref), dim=1, eps=1e-8)

    return Objective(
        fn, {layer}, f"activation_match({layer})", [_layer_check(layer)], binders=[binder]
    )


def content(layer: str, image) -> Objective:
    """The content loss of style transfer (Gatys et al. 2016), as a value to maximise:

        value = -mean (A(x) - A(c))^2

    over the channels and positions of ``layer``; ``image``: the content image ``c`` (or one
    per rendered image), its activations computed once, at the render's input size. Like
    :func:`activation_match` it compares positions: render with ``transforms=None``.
    """
    target, binder = _target(image, [layer], f"the content image of content({layer})")

    def fn(acts):
        t = acts[layer]
        return -_flat((t - _target_acts(target, layer, acts, t)) ** 2).mean(1)

    return Objective(fn, {layer}, f"content({layer})", [_layer_check(layer)], binders=[binder])


def gram(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): G = F F^T / (H W), F the activations as (C, H W): how much
    each pair of channels fires together, averaged over positions (so the size of an image
    does not change its scale)."""
    f = t.flatten(2)
    return f @ f.transpose(1, 2) / f.shape[2]


def style(layers: str | Sequence[str], image, weights: Sequence[float] | None = None) -> Objective:
    """Style (Gatys et al. 2016): match the Gram matrices of ``layers`` (which channels fire
    together, wherever they do) to those of the style ``image``, as a value to maximise:

        value = -sum_l w_l * mean_ij (G_l(x) - G_l(s))_ij^2,    G = F F^T / (H W)

    Each term is 4 E_l of Gatys et al. (who divide sum (F F^T - A)^2 by 4 C^2 (H W)^2).
    ``weights``: one per layer (default 1 each). Style transfer is
    ``content(layer, photo) + w * style(layers, painting)`` with ``init=photo``; the style
    image's Grams are computed once, at the render's input size.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ObjectiveError("style needs at least one layer")
    w = [1.0] * len(names) if weights is None else [float(v) for v in weights]
    if len(w) != len(names):
        raise ObjectiveError(f"style: {len(w)} weights for {len(names)} layers")
    target = TargetImage(image, names, f"the style image of style({', '.join(names)})")
    grams: dict[str, torch.Tensor] = {}

    def binder(spec):
        target.bind(spec)
        grams.update({name: gram(target.acts[name]) for name in names})

    def fn(acts):
        if not grams:
            raise _unbound(target)
        total = 0
        for name, weight in zip(names, w):
            g, ref = gram(acts[name]), grams[name]
            ref = ref if ref.shape[0] == 1 else ref[_index(acts, g.shape[0]).to(ref.device)]
            total = total + weight * _flat((g - ref.to(g.dtype)) ** 2).mean(1)
        return -total

    return Objective(
        fn,
        set(names),
        f"style({', '.join(names)})",
        [_spatial_check(name) for name in names],
        binders=[binder],
    )


def accentuate(unit, image, strength: float = 0.02, reference: str | None = None) -> Objective:
    """Feature accentuation (Hamblin et al. 2024, "Feature Accentuation", arXiv:2402.10039):
    raise ``unit`` (``"layer:channel"`` or any objective) in ``image`` while the image stays
    close to itself in a ``reference`` layer:

        value = strength * u(x) - |A_r(x) - A_r(x0)| / |A_r(x0)|

    u the unit's value (a channel's mean), A_r the reference layer's activations flattened,
    x0 the image. The distance is relative (0.5: moved by half the image's own norm in that
    layer) and not squared, so it pulls towards the image with the same force however close
    the render is. ``strength`` trades the unit against that distance, in the unit's own
    scale: on EfficientNet-Lite0, for a ``_blocks.8`` channel with ``reference="_blocks.4"``
    (64-px renders at 96 px, 48 steps), 0.02 raises the channel about fivefold at a distance
    of about 0.3, 0.05 ninefold at about 0.75. ``reference`` defaults to the unit's own layer;
    an earlier layer keeps more of the image. Render with ``init=image`` and
    ``transforms=None``: the render then starts at the image (distance 0), and the distance
    compares positions, which random shifts would misalign.
    """
    u = as_objective(unit)
    if reference is None:
        spatial = sorted(u.layers - {INPUT, LOGITS, INDEX, BATCH_SIZE})
        if len(spatial) != 1:
            raise ObjectiveError(
                f"accentuate: name the reference layer; the unit {u.name} reads "
                f"{len(spatial)} layers"
            )
        reference = spatial[0]
    strength = float(strength)
    target, binder = _target(image, [reference], f"the image of accentuate({u.name})")

    def fn(acts):
        t = acts[reference]
        ref = _flat(_target_acts(target, reference, acts, t))
        gap = (_flat(t) - ref).pow(2).sum(1).add(1e-12).sqrt()
        return strength * u(acts) - gap / ref.norm(dim=1).clamp(min=1e-6)

    return Objective(
        fn,
        u.layers | {reference},
        f"accentuate({u.name}, ref={reference})",
        (*u.validators, _layer_check(reference)),
        u.batchwise,
        (*u.binders, binder),
    )


# ---- across the batch ----------------------------------------------------------------------
def channel_interpolate(a, b) -> Objective:
    """Interpolate between two objectives across the batch (lucid's ``channel_interpolate``):
    image i of N maximises

        (1 - t_i) * a(x_i) + t_i * b(x_i),      t_i = i / (N - 1)

    ``a``, ``b``: ``"layer:channel"`` strings or any objectives. Each image reads only its own
    activations and its position in the batch, so the images stay independent: with the same
    seed, image 0 is the render of ``a`` alone and image N-1 that of ``b`` at position N-1.
    Add ``- w * alignment(layer)`` to make neighbours alike. Needs a batch of 2 or more.
    """
    a, b = as_objective(a), as_objective(b)

    def fn(acts):
        va, vb = a(acts), b(acts)
        n = va.shape[0] if va.ndim else vb.shape[0]
        t = _index(acts, n).to(va.device, va.dtype) / (acts.get(BATCH_SIZE, n) - 1)
        return (1 - t) * va + t * vb

    def needs_two(spec):
        if spec.batch < 2:
            raise ObjectiveError(
                f"channel_interpolate needs a batch of 2 or more images to interpolate "
                f"across, got {spec.batch}: pass batch=N"
            )

    return a._derived(fn, f"channel_interpolate({a.name}, {b.name})", b).with_binder(needs_two)


def alignment(layer: str, decay_ratio: float = 2.0) -> Objective:
    """Neighbouring images of the batch stay alike at ``layer`` (lucid's ``alignment``; a
    penalty: subtract it). Lucid's total is

        sum_{d=1..4} sum_i mean (A_i - A_{i+d})^2 / decay_ratio^d

    and each image's value here is half the terms it takes part in, so the values sum to
    lucid's total. Compares images, so the batch runs in one forward pass (``batchwise``).
    """
    decay = float(decay_ratio)

    def fn(acts):
        t = acts[layer]
        values = t.new_zeros(t.shape[0])
        for d in range(1, 5):
            if d >= t.shape[0]:
                break
            term = _flat((t[d:] - t[:-d]) ** 2).mean(1) / decay**d / 2
            values = values + F.pad(term, (d, 0)) + F.pad(term, (0, d))
        return values

    return Objective(fn, {layer}, f"alignment({layer})", [_layer_check(layer)], batchwise=True)


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

_IMAGE = Param("image", "any", None, ui=False, help="a target image (anything load_image reads)")
_MV = "Mahendran & Vedaldi 2015, arXiv:1412.0035; Olah et al. 2018, Distill (lucid)"
_GATYS = "Gatys, Ecker & Bethge 2016, CVPR, doi:10.1109/CVPR.2016.265"
OBJECTIVES.register(
    "direction_neuron",
    label="direction at a position",
    params=(
        _LAYER,
        Param("vector", "any"),
        Param("x", "int", None, min=0, ui=False),
        Param("y", "int", None, min=0, ui=False),
        Param("cossim", "bool", True),
    ),
    reference="Olah et al. 2018, Distill, doi:10.23915/distill.00010",
    description="activation along a direction in channel space at one position",
)(direction_neuron)
OBJECTIVES.register(
    "activation_match",
    label="feature inversion",
    params=(_LAYER, _IMAGE),
    reference=_MV,
    description="cosine similarity with a target image's activations at a layer",
)(activation_match)
OBJECTIVES.register(
    "content",
    label="content (style transfer)",
    params=(_LAYER, _IMAGE),
    reference=_GATYS,
    description="minus the mean squared difference with a content image's activations",
)(content)
OBJECTIVES.register(
    "style",
    label="style (Gram matrices)",
    params=(
        Param("layers", "any", None, help="a layer name or a list of them"),
        _IMAGE,
        Param("weights", "any", None, help="one weight per layer (default 1 each)"),
    ),
    reference=_GATYS,
    description="minus the squared difference with a style image's Gram matrices",
)(style)
OBJECTIVES.register(
    "accentuate",
    label="feature accentuation",
    params=(
        Param("unit", "any", None, help="'layer:channel' or an objective"),
        _IMAGE,
        Param("strength", "float", 0.02, min=0.0, max=10.0, step=0.005, help="weight of the unit"),
        Param("reference", "str", None, help="layer that keeps the image close to itself"),
    ),
    reference="Hamblin et al. 2024, arXiv:2402.10039",
    description="raise a unit in an image while it stays close to itself in a reference layer",
)(accentuate)
OBJECTIVES.register(
    "channel_interpolate",
    label="interpolate two objectives",
    params=(
        Param("a", "any", None, help="'layer:channel' or an objective, image 0"),
        Param("b", "any", None, help="'layer:channel' or an objective, image N-1"),
    ),
    reference="Olah et al. 2017, Distill, doi:10.23915/distill.00007 (interaction)",
    description="image i of N maximises (1 - t) a + t b, t = i / (N - 1)",
)(channel_interpolate)
OBJECTIVES.register(
    "alignment",
    label="alignment",
    penalty=True,
    params=(_LAYER, Param("decay_ratio", "float", 2.0, min=1.0, max=10.0)),
    reference="Olah et al. 2017, Distill, doi:10.23915/distill.00007 (lucid alignment)",
    description="neighbouring images of the batch stay alike at a layer",
)(alignment)
