"""Batch norm folded into the convolution before it, in a private copy of the model, for renders.

In eval mode a BatchNorm2d is a per-channel affine map, ``y = (x - mean) * s + beta`` with
``s = gamma / sqrt(var + eps)``. When ``x`` is the output of a convolution that nothing else
reads, the map can move into the convolution's weights: ``W' = W * s`` (per output channel)
and ``b' = beta + (b - mean) * s``. The folded convolution then gives the batch norm's output
directly, and a render step skips the batch norm's forward and backward passes (about a
quarter of a step on EfficientNet-Lite0 on the CPU, docs/benchmarks.md).

:func:`folded` makes that copy; the user's module is never changed:

- The copy is a deep copy that shares every parameter and buffer object with the model (and
  any tensor its modules hold), so whatever is not folded, and any later in-place edit of
  it, is the model's own. Only the folded convolutions get weights of their own, recomputed
  from the model's current values at every call of :func:`folded` (once per render) and by
  :meth:`Folding.refresh` when they changed in place.
- Each folded BatchNorm2d becomes a :class:`FoldedBatchNorm2d` of the same name that returns
  its input: layer names resolve in the copy as in the model, and the render's hook on the
  batch norm's name (an objective reading that layer) reads the same values (the folded
  convolution's output *is* the batch norm's output). Not an ``nn.Identity``: layer
  discovery skips those.
- A pair folds only when the convolution's output is read by the batch norm and by nothing
  else (see :func:`_probe`); when a render reads the convolution's own output (``keep``); and
  when both modules are of the plain kinds whose forward is known to be linear (a ``Conv2d``
  whose forward is ``Conv2d.forward`` or that declares ``linear_in_weight``; a ``BatchNorm2d``
  with running statistics; neither parametrized). After folding, the copy and the model run on
  one random input and every folded batch norm's output and the model's output must agree, or
  nothing is folded.
- Nothing folds while the model carries a hook, on any module (or a global module hook).
  cnnwidgets registers its own hooks only inside an engine call, under the model's lock, so a
  hook found here is the user's, and running the copy would change what it gets: it would run
  on the copy's modules (on a folded pair it would see other values), a hook object that keeps
  state would be deep-copied with the module and record into the copy, and the check above
  would call it once more on a random input.
- The render calls :meth:`Folding.refresh` before every step, under the model's lock: pairs
  whose tensors changed in place since (an optimiser step of a training loop beside the
  render, ``load_state_dict``: their version counters move) are folded again, and a hook that
  appeared or a replaced submodule, parameter or buffer makes the render fold afresh (and run
  the model itself while it has hooks). Not seen before the next render: edits through
  ``.data`` (no version counter moves) and changed plain attributes of unfolded modules.

Which pairs fold is found by a probe forward pass of the unfolded copy that records, through
a ``TorchFunctionMode`` (thread-local), every operation that reads each convolution's output,
and which module was running it. ``torch.fx.symbolic_trace`` would read the same from the
graph, but it patches ``nn.Module.__call__`` for the whole process while it traces: a forward
pass in another thread (another widget's render) then fails or returns a trace proxy
(measured: 45,726 failures in 46,216 forward passes of another thread during 50 traces).

The copy and the probe's answer are cached per model. The cache key is the model's structure
(every submodule, parameter and buffer object, hook and plain attribute), so a replaced
submodule, ``load_state_dict(assign=True)`` or a changed attribute builds a new copy (and a
module that rebinds an attribute in its forward pass gets a new one every render). Values are
not part of the key: version counters miss ``.data`` edits (docs/benchmarks.md, "Feature maps:
no cache"), so the folded weights are recomputed from the model's values on every call instead
(20 ms for Lite0, 40 ms for ResNet-18 on one CPU thread, against seconds for a render; building
the copy takes 0.3 s).
"""

from __future__ import annotations

import collections
import copy
import operator
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils.parametrize import is_parametrized
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

from ...core.guard import model_lock, preserved
from ...core.hooks import forward_hooks

# Copies kept per model, one per set of convolutions a render reads (most renders read none).
_COPIES_PER_MODEL = 2
# The copy's outputs against the model's on the probe input: a wrong fold is off by the size
# of the activations, float rounding by about 1e-6 of it.
_TOLERANCE = 1e-3


class FoldedBatchNorm2d(nn.Module):
    """A BatchNorm2d whose transform now lives in the convolution before it: passes its input
    (already the batch norm's output) through, under the batch norm's name."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        self.num_features = bn.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass(frozen=True)
class Folding:
    """``module``: what to run (the folded copy; the model's own module when no pair folds);
    ``pairs``: the (convolution, batch norm) names folded. The other fields are for
    :meth:`refresh`."""

    module: nn.Module
    pairs: tuple[tuple[str, str], ...]
    root: nn.Module | None = field(default=None, repr=False, compare=False)
    objects: list = field(default_factory=list, repr=False, compare=False)
    sources: list = field(default_factory=list, repr=False, compare=False)  # the model's pairs
    stamps: list = field(default_factory=list, repr=False, compare=False)

    def refresh(self) -> bool:
        """Before a step, under the model's lock: whether the copy still stands for the model.
        Folds again each pair whose convolution's or batch norm's tensors changed in place
        (version counters) or whose ``eps`` changed. False when the model now carries a hook or
        had a submodule, parameter or buffer replaced: the caller folds afresh
        (:func:`folded`) or runs the model itself."""
        if not self.pairs:
            return True
        if _hooked(self.root) or not _same_objects(self.objects, _objects(self.root)):
            return False
        for k, pair in enumerate(self.pairs):
            stamp = _stamp(*self.sources[k])
            if stamp != self.stamps[k]:
                _refold(self.root, self.module, [pair])
                self.stamps[k] = stamp
        return True


def _linear_conv(m: nn.Module) -> bool:
    """A convolution whose output is ``conv(x, weight) + bias``, whatever it does to ``x``
    first (padding): scaling the weight per output channel then scales the output."""
    if not isinstance(m, nn.Conv2d) or m.transposed or is_parametrized(m):
        return False
    if type(m).forward is not nn.Conv2d.forward and not getattr(type(m), "linear_in_weight", False):
        return False  # e.g. weight standardisation: its forward would undo the scaling
    return m.weight.dtype in (torch.float32, torch.float64)


def _foldable_bn(m: nn.Module) -> bool:
    """An eval-mode BatchNorm2d that normalises with its running statistics."""
    return (
        isinstance(m, nn.BatchNorm2d)
        and not is_parametrized(m)
        and type(m).forward is nn.BatchNorm2d.forward
        and m.track_running_stats
        and m.running_mean is not None
        and m.running_var is not None
    )


# Where a module keeps the hooks that run in forward and backward passes (the *_with_kwargs
# and *_always_called dicts only flag hooks kept in these).
_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _hooked(root: nn.Module) -> bool:
    """Whether a hook would run in a forward or backward pass of ``root``: one on any of its
    modules, or one registered for every module (``register_module_forward_hook``)."""
    glob = nn.modules.module
    if any(getattr(glob, f"_global{k}", None) for k in _HOOKS):
        return True
    return any(getattr(m, k, None) for m in root.modules() for k in _HOOKS)


def _objects(root: nn.Module) -> list:
    """Every submodule, parameter and buffer object of ``root``, in order: the part of
    :func:`_structure` cheap enough to check before every step (all of
    :meth:`Folding.refresh`: 0.3 ms for Lite0, against 3.5 ms for :func:`_structure`)."""
    found: list = []
    for m in root.modules():
        found.append(m)
        found.extend(m._parameters.values())
        found.extend(m._buffers.values())
    return found


def _same_objects(a: list, b: list) -> bool:
    return len(a) == len(b) and all(map(operator.is_, a, b))


def _stamp(conv: nn.Module, bn: nn.Module) -> tuple:
    """What a pair's folded weights were computed from, as far as it can be seen cheaply: the
    version counters of the convolution's and the batch norm's tensors, and ``eps``."""
    tensors = (*conv._parameters.values(), *bn._parameters.values(), *bn._buffers.values())
    return (bn.eps, *(None if t is None else t._version for t in tensors))


# ---- the structure key ----------------------------------------------------------------------
class _Same:
    """Equal to another ``_Same`` of the very same object; holds the object, so that its id
    cannot be reused by a new one while the key lives."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def _token(v, depth: int = 0):
    if v is None or isinstance(v, (bool, int, float, str, torch.dtype, torch.device)):
        return v
    if depth < 3 and isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_token(x, depth + 1) for x in v))
    if depth < 3 and isinstance(v, dict):
        return ("dict", tuple((_token(k), _token(x, depth + 1)) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return ("set", tuple(sorted(repr(x) for x in v)))
    return _Same(v)


def _structure(module: nn.Module) -> tuple:
    """Everything a deep copy of ``module`` freezes apart from tensor values: each submodule
    object, its parameter, buffer and submodule objects, its hooks and its plain attributes.
    ``training`` is left out (the render sets eval mode; the copy is always in eval mode)."""
    key = []
    for name, m in module.named_modules(remove_duplicate=False):
        attrs = tuple((k, _token(v)) for k, v in vars(m).items() if k != "training")
        key.append((name, type(m), attrs))
    return tuple(key)


# ---- finding the pairs --------------------------------------------------------------------
class _Reads(TorchFunctionMode):
    """Records, for each watched tensor, the module that was innermost on ``stack`` each time
    an operation read it."""

    def __init__(self, stack: list, watched: dict):
        super().__init__()
        self.stack, self.watched = stack, watched
        self.readers: dict[int, list] = collections.defaultdict(list)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for t in pytree.tree_leaves((args, kwargs)):
            if isinstance(t, torch.Tensor) and id(t) in self.watched:
                self.readers[id(t)].append(self.stack[-1] if self.stack else None)
        return func(*args, **kwargs)


def _probe(module: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """(convolution, batch norm) names of the pairs where the batch norm is the only reader of
    the convolution's output, from one forward pass of ``module`` (a private copy: the probe's
    hooks go on it)."""
    names = {m: n for n, m in module.named_modules()}
    convs = {m for m in names if _linear_conv(m)}
    bns = {m for m in names if _foldable_bn(m)}
    if not convs or not bns:
        return []
    stack: list[nn.Module] = []
    calls: collections.Counter = collections.Counter()
    outputs: dict[int, nn.Module] = {}  # id of a convolution's output -> the convolution
    pinned: list[torch.Tensor] = []  # keeps those outputs alive, so their ids stay theirs
    bn_input: dict[nn.Module, int] = {}
    spoiled: set[nn.Module] = set()  # convolutions whose output something else reads
    reads = _Reads(stack, outputs)

    def enter(m, inputs):
        calls[m] += 1
        for t in pytree.tree_leaves(inputs):
            if isinstance(t, torch.Tensor) and id(t) in outputs:
                if m in bns and len(inputs) == 1 and inputs[0] is t:
                    bn_input[m] = id(t)
                else:
                    spoiled.add(outputs[id(t)])  # handed to another module (even an Identity)
        stack.append(m)

    def leave(m, inputs, output):
        stack.pop()
        for t in pytree.tree_leaves(output):
            if isinstance(t, torch.Tensor) and id(t) in outputs and outputs[id(t)] is not m:
                spoiled.add(outputs[id(t)])  # also another module's output (a container's)
        if m in convs and isinstance(output, torch.Tensor):
            outputs[id(output)] = m
            pinned.append(output)

    with (
        forward_hooks(
            {m: leave for m in names if m is not module},
            {m: enter for m in names if m is not module},
        ),
        torch.no_grad(),
        reads,
    ):
        result = module(example)
    for t in pytree.tree_leaves(result):
        if isinstance(t, torch.Tensor) and id(t) in outputs:
            spoiled.add(outputs[id(t)])  # returned by the model
    pairs = []
    for bn, tid in bn_input.items():
        conv = outputs[tid]
        if (
            conv not in spoiled
            and calls[conv] == 1
            and calls[bn] == 1
            and conv.out_channels == bn.num_features
            and all(r is bn for r in reads.readers[tid])
        ):
            pairs.append((names[conv], names[bn]))
    return sorted(pairs)


# ---- folding ----------------------------------------------------------------------------------
def _tensors_in(obj, found: dict, depth: int = 3) -> None:
    """Every tensor in ``obj`` and in the containers and plain objects it holds, a few levels
    deep (submodules are walked on their own)."""
    if isinstance(obj, torch.Tensor):
        found[id(obj)] = obj
        return
    if depth == 0 or isinstance(obj, (nn.Module, type, str, bytes)):
        return
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = obj
    elif hasattr(obj, "__dict__"):
        items = vars(obj).values()
    else:
        return
    for v in items:
        _tensors_in(v, found, depth - 1)


def _shared_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` that shares its tensors (parameters, buffers, and tensors its
    modules keep in attributes: the same objects), in eval mode. The parameters' flags are left
    alone: they are the model's. Deep, not module by module: a module that calls others through
    a list (InceptionV1's towers) must call the copies. Shared tensors: a tensor that a forward
    pass left in an attribute may be part of an autograd graph, which deepcopy refuses."""
    memo: dict = {}
    for m in module.modules():
        _tensors_in(vars(m), memo)
    return copy.deepcopy(module, memo).train(False)


def _set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, new)


@torch.no_grad()
def fold_weights(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W', b')`` of ``conv`` followed by ``bn`` in eval mode, from their current values:
    computed in float64, stored like the conv's weight (dtype, device, memory layout)."""
    w = conv.weight.detach()
    scale = torch.rsqrt(bn.running_var.detach().double() + bn.eps)
    shift = -bn.running_mean.detach().double()
    if conv.bias is not None:
        shift = shift + conv.bias.detach().double()
    if bn.affine:
        scale = scale * bn.weight.detach().double()
        bias = shift * scale + bn.bias.detach().double()
    else:
        bias = shift * scale
    weight = torch.empty_like(w)  # keeps the weight's layout (channels-last on the CPU)
    weight.copy_(w.double() * scale.view(-1, *([1] * (w.ndim - 1))))
    return weight, bias.to(w.dtype)


def _refold(root: nn.Module, copy_: nn.Module, pairs) -> None:
    """Set each folded convolution of ``copy_`` from the model's current values."""
    for conv_name, bn_name in pairs:
        weight, bias = fold_weights(root.get_submodule(conv_name), root.get_submodule(bn_name))
        target = copy_.get_submodule(conv_name)
        target.weight = nn.Parameter(weight, requires_grad=False)
        target.bias = nn.Parameter(bias, requires_grad=False)


def _outputs(module: nn.Module, x: torch.Tensor, names) -> tuple[dict, list]:
    store: dict = {}
    mods = {module.get_submodule(n): n for n in names}

    def keep(m, _inputs, output):
        store[mods[m]] = output.detach().clone()

    with forward_hooks({m: keep for m in mods}), torch.no_grad():
        out = module(x)
    return store, [t for t in pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]


def _agree(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.isfinite(a).all()) and float((a - b).abs().max()) <= _TOLERANCE * scale + 1e-6


def _verified(root: nn.Module, copy_: nn.Module, pairs, example: torch.Tensor) -> bool:
    """Whether the copy gives the model's values on ``example``: each folded batch norm's
    output and the model's output."""
    bn_names = [bn for _, bn in pairs]
    with preserved(root):  # the model may be in training mode: no statistics updates
        ref, ref_out = _outputs(root, example, bn_names)
    got, got_out = _outputs(copy_, example, bn_names)
    return (
        len(ref_out) == len(got_out)
        and all(_agree(got[n], ref[n]) for n in bn_names)
        and all(_agree(g, r) for g, r in zip(got_out, ref_out))
    )


@dataclass
class _Entry:
    structure: tuple
    pairs: list  # every foldable pair, whatever a render reads
    copies: collections.OrderedDict  # frozenset of kept convolutions -> the copy (None: failed)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _example(model) -> torch.Tensor:
    """A random input of the model's size, layout, dtype and device (a fixed seed: the probe and
    the check must not move torch's global generator)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, model.in_channels, *model.input_size, generator=g)
    x = x.to(model.device, model.dtype)
    return x.contiguous(memory_format=torch.channels_last) if model.channels_last else x


def folded(model, keep: Iterable[str] = ()) -> Folding:
    """The model's module with every foldable BatchNorm2d folded into its convolution, for one
    render (see the module docstring).

    ``model``: a cnnwidgets Model; ``keep``: module names whose own outputs the render reads
    (its hooked layers): a convolution among them keeps its raw output, and its batch norm
    stays. The copy is cached per model and structure; its folded weights are recomputed from
    the model's current values on every call. Without anything to fold, ``module`` is the
    model's own module and ``pairs`` is empty.
    """
    root = model.module
    with model_lock(root):
        if _hooked(root):
            return Folding(root, ())
        structure = _structure(root)
        with _CACHE_LOCK:
            entry = _CACHE.get(root)
        if entry is None or entry.structure != structure:
            try:
                pairs = _probe(_shared_copy(root), _example(model))
            except Exception:  # noqa: BLE001 - a model the probe cannot run is not folded
                pairs = []
            entry = _Entry(structure, pairs, collections.OrderedDict())
            with _CACHE_LOCK:
                _CACHE[root] = entry
        kept = frozenset(keep) & {conv for conv, _ in entry.pairs}
        pairs = tuple(p for p in entry.pairs if p[0] not in kept)
        if not pairs:
            return Folding(root, ())
        built = entry.copies.get(kept)
        if built is None and kept not in entry.copies:
            built = _build(root, pairs, _example(model))
            entry.copies[kept] = built
            while len(entry.copies) > _COPIES_PER_MODEL:
                entry.copies.popitem(last=False)
        else:
            entry.copies.move_to_end(kept)
        if built is None:
            return Folding(root, ())
        _refold(root, built, pairs)
        sources = [(root.get_submodule(c), root.get_submodule(b)) for c, b in pairs]
        stamps = [_stamp(*s) for s in sources]
        return Folding(built, pairs, root, _objects(root), sources, stamps)


def _build(root: nn.Module, pairs, example: torch.Tensor) -> nn.Module | None:
    """The folded copy, or None when it does not reproduce the model on ``example``."""
    try:
        copy_ = _shared_copy(root)
        for _, bn_name in pairs:
            _set_submodule(copy_, bn_name, FoldedBatchNorm2d(root.get_submodule(bn_name)))
        _refold(root, copy_, pairs)
        ok = _verified(root, copy_, pairs, example)
    except Exception:  # noqa: BLE001 - a model the check cannot run is not folded
        return None
    return copy_ if ok else None
