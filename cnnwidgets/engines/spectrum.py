"""Dataset examples: a streaming tracker of the images that drive each channel up, down, or barely.

For each tracked channel and each image, the layer's map (h, w) is reduced to two numbers: its
spatial maximum (with the position where it occurs) and its spatial minimum. Over a stream of
images the tracker keeps four columns per channel, each holding at most one example per image:

``max``
    the ``k`` images with the largest spatial maximum, largest first.
``min``
    the ``k`` images with the smallest spatial minimum, most negative first.
``slightly_positive``
    among images whose spatial maximum is > 0, the ``k`` whose spatial maximum is closest to
    the target ``t+``, closest first. Images that excite the channel only a little.
``slightly_negative``
    among images whose spatial minimum is < 0, the ``k`` whose spatial minimum is closest to
    ``t-``, closest first. Images that inhibit the channel only a little.

The targets are ``t+ = fraction * M+`` and ``t- = fraction * M-`` with ``M+`` the largest and
``M-`` the smallest value seen so far (``fraction`` = 0.1 by default), or fixed numbers given as
``targets=``. Exactness: ``max`` and ``min`` are exact for any split of the stream into
batches, and merging trackers gives what one tracker over the streams one after the other
gives (ties go to the image seen first). The slight columns are exact
whenever the target is fixed (``targets=``), because they are then a top-k by a fixed key. With
the relative default the target rises while the stream passes, and the tracker keeps a pool of
``pool`` candidates (default ``2 k``) ranked against the current target and re-ranked after each
batch; an image that fell out of the pool before the target moved past it cannot come back, so
the result is approximate. For an exact relative column, scan twice: the second tracker gets
``targets=first.targets()``.

The negative side needs pre-activation values: after a ReLU every minimum is 0 and the slightly
negative column stays empty. :func:`pre_activation_layers` lists the layers whose outputs feed
an activation (for EfficientNet-Lite0 the BatchNorms ``_bn0``, ``_blocks.N._bn0``,
``_blocks.N._bn1``, ...; the projection BatchNorms ``_blocks.N._bn2`` are linear, also signed),
and :func:`pre_activation_layer` maps an activation name to the layer before it
(``_blocks.5._act1`` -> ``_blocks.5._bn1``).

Cost and memory: the forward pass stops right after the hooked layer under
``torch.inference_mode``; every column is a set of fixed-size tensors on the model's device,
merged with each batch by one sort over ``(channels, k + batch)``; crops (the effective
receptive field around the position, see :func:`receptive_field`, scaled to ``crop_px``) are
gathered only for examples that enter a column, into the slot of the example they evict. Image
ids are kept only for current members. So memory is about ``channels x (2 k + 2 pool) x 3 x
crop_px**2`` bytes (about 0.66 MB per channel at the defaults), whatever the number of images.
"""
from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.guard import preserved
from ..core.hooks import capture, run_until_captured
from ..core.model_base import as_model

COLUMNS = ("min", "slightly_negative", "slightly_positive", "max")

# Modules whose input is "pre-activation": a ReLU-like nonlinearity squashes the negative side.
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
               nn.SiLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh, nn.Softplus)


@dataclass(frozen=True)
class Example:
    """One dataset example of one channel.

    ``value``: the activation (the image's spatial max or min); ``image_id``: the id given to
    ``update`` (default: the image's index in the stream); ``position``: (row, col) in the
    layer's map; ``box``: (y0, x0, y1, x1) of the crop in model-input pixels; ``crop``: the
    input pixels in that box as the model sees them, (crop_px, crop_px, 3) uint8.
    """
    value: float
    image_id: Any
    position: tuple[int, int]
    box: tuple[int, int, int, int]
    crop: np.ndarray
    channel: int
    column: str


# ---- pre-activation layers -------------------------------------------------------------------
def _activation_inputs(m) -> dict[str, list[str]]:
    """activation layer name -> names of the layers whose outputs it reads, one per call (an
    activation module may be called several times, as ResNet's ``relu``); one probe forward."""
    modules = {n: mod for n, mod in m.module.named_modules() if n and n in m.layer_info}
    produced: dict[int, str] = {}
    feeds: dict[str, list[str]] = {}

    def record_output(name):
        def hook(_mod, _inp, out):
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

    handles = []
    try:
        with preserved(m.module), torch.inference_mode():
            for n, mod in modules.items():
                handles.append(mod.register_forward_hook(record_output(n)))
                if isinstance(mod, ACTIVATIONS):
                    handles.append(mod.register_forward_pre_hook(record_input(n)))
            outputs = []  # keep outputs alive so that ids are not reused during the probe
            keep = [mod.register_forward_hook(lambda _m, _i, o: outputs.append(o))
                    for mod in modules.values()]
            handles.extend(keep)
            m.module(m.example_input())
    finally:
        for h in handles:
            h.remove()
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
        raise ValueError(f"the input of {layer!r} is not the output of a named layer (it is "
                         "computed inside a parent's forward); pick the layer by hand")
    return feeds[0]


# ---- receptive field ---------------------------------------------------------------------------
def _central_interval(weights: torch.Tensor, mass: float) -> tuple[int, int]:
    """Smallest index range [lo, hi) outside of which at most (1 - mass) / 2 of the total
    weight lies on each side."""
    c = weights.cumsum(0)
    total = float(c[-1])
    tail = (1 - mass) / 2 * total
    lo = int(torch.searchsorted(c, torch.tensor(tail, dtype=c.dtype), right=True))
    hi = int(torch.searchsorted(c, torch.tensor(total - tail, dtype=c.dtype))) + 1
    return min(lo, hi - 1), min(hi, len(weights))


def receptive_field(model, layer: str, mass: float | None = None
                    ) -> tuple[tuple[int, int, int, int], tuple[int, int], tuple[float, float]]:
    """The input box that one position of ``layer`` sees, probed by one backward pass.

    Returns ``(box, position, stride)``: ``box`` = (y0, x0, y1, x1) (end exclusive) for the
    centre ``position`` (row, col) of the layer's map, and ``stride`` = input size / map size,
    to move the box to other positions. ``mass=None``: the theoretical receptive field, every
    input pixel with a nonzero gradient (summed over channels and four random inputs, so that
    a ReLU that is off for one input does not shrink it). ``mass=0.9``: the effective receptive
    field (Luo et al. 2016), the central rows and columns that hold 90 % of the gradient
    magnitude, made square; deep layers see the whole image in theory but mostly the middle.
    """
    m = as_model(model)
    m.check_layer(layer)
    shape = m.layer_info[layer].shape
    if len(shape) != 3:
        raise ValueError(f"layer {layer!r} has output shape {shape}, not a (C, H, W) map")
    if mass is not None and not 0 < mass <= 1:
        raise ValueError(f"mass must lie in (0, 1], got {mass!r}")
    # A widget makes a new tracker whenever the layer changes: probe each layer once.
    key = (layer, mass, tuple(m.input_size))
    cached = _rf_cache.setdefault(m.module, {})
    if key not in cached:
        cached[key] = _probe_receptive_field(m, layer, shape, mass)
    return cached[key]


_rf_cache: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


def _probe_receptive_field(m, layer: str, shape: tuple, mass: float | None):
    _, h, w = shape
    H, W = m.input_size
    ic, jc = h // 2, w // 2
    stride = (H / h, W / w)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, m.in_channels, H, W, generator=gen).to(m.device, m.dtype).requires_grad_(True)
    with preserved(m.module), torch.enable_grad(), \
            capture({layer: m.module_of(layer)}, stop_after_last=True, transform=lambda t: t) as st:
        run_until_captured(lambda: m.module(x))
        st[layer][:, :, ic, jc].sum().backward()
    g = x.grad.detach().abs().sum((0, 1)).double().cpu()
    rows, cols = torch.nonzero(g.sum(1) > 0).flatten(), torch.nonzero(g.sum(0) > 0).flatten()
    if len(rows) == 0:  # a dead position: fall back to the stride-sized cell
        cy, cx = (ic + 0.5) * stride[0], (jc + 0.5) * stride[1]
        return ((int(cy - stride[0] / 2), int(cx - stride[1] / 2),
                 int(np.ceil(cy + stride[0] / 2)), int(np.ceil(cx + stride[1] / 2))),
                (ic, jc), stride)
    if mass is None:
        return (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1), (ic, jc), stride
    y0, y1 = _central_interval(g.sum(1), mass)
    x0, x1 = _central_interval(g.sum(0), mass)
    side = max(y1 - y0, x1 - x0, int(np.ceil(max(stride))))
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    top, left = int(round(cy - side / 2)), int(round(cx - side / 2))
    return (top, left, top + side, left + side), (ic, jc), stride


# ---- the tracker -------------------------------------------------------------------------------
class _Column:
    """A fixed-size table per channel: rank-ordered values, ids, positions, and crop slots."""

    def __init__(self, channels: int, size: int, crop_shape: tuple, device):
        self.size = size
        self.val = torch.zeros(channels, size, device=device)
        self.seq = torch.full((channels, size), -1, dtype=torch.long, device=device)
        self.pos = torch.zeros(channels, size, 2, dtype=torch.long, device=device)
        # slot[c, r]: where the crop of the rank-r entry lives; crops never move when ranks do.
        self.slot = torch.arange(size, device=device).repeat(channels, 1)
        self.crop = torch.zeros(channels, size, *crop_shape, dtype=torch.uint8, device=device)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"val": self.val, "seq": self.seq, "pos": self.pos, "slot": self.slot,
                "crop": self.crop}

    def valid(self) -> torch.Tensor:
        return self.seq >= 0

    def select(self, key_old: torch.Tensor, val: torch.Tensor, seq: torch.Tensor,
               pos: torch.Tensor, key_new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep the ``size`` entries with the smallest key among the column and the candidates.

        ``key_*`` is +inf for empty entries and for candidates that do not qualify; ties go to
        the smaller ``seq`` (the image seen first). Candidates are (channels, n). Returns the
        (channel, candidate) indices of the candidates that entered, in the order of the slots
        they were given (so the caller fills ``crop[channel, slot]`` for them).
        """
        C, K = self.seq.shape
        keys = torch.cat([key_old, key_new], 1)
        seqs = torch.cat([torch.where(self.valid(), self.seq, -1), seq], 1)
        by_seq = seqs.argsort(dim=1, stable=True)
        order = by_seq.gather(1, keys.gather(1, by_seq).argsort(dim=1, stable=True))[:, :K]
        kept_key = keys.gather(1, order)
        from_old = order < K
        old_i = order.clamp(max=K - 1)
        new_i = (order - K).clamp(min=0)
        n = val.shape[1]
        cand = torch.arange(C, device=val.device)[:, None] * n + new_i  # flat candidate index

        def pick(old, new):
            o = old.gather(1, old_i) if old.ndim == 2 else old.gather(
                1, old_i[..., None].expand(-1, -1, old.shape[-1]))
            nw = new.reshape(C * n, *new.shape[2:])[cand]
            mask = from_old if old.ndim == 2 else from_old[..., None]
            return torch.where(mask, o, nw)

        new_val, new_seq, new_pos = pick(self.val, val), pick(self.seq, seq), pick(self.pos, pos)
        # Old entries that were pushed out give their crop slots to the candidates that came in;
        # both lists are taken row by row, and each row has as many of one as of the other.
        kept_old = torch.zeros(C, K, dtype=torch.bool, device=val.device)
        rows = torch.arange(C, device=val.device)[:, None].expand(C, K)
        kept_old[rows[from_old], order[from_old]] = True
        entered = ~from_old
        slot = self.slot.gather(1, old_i)
        slot[entered] = self.slot[~kept_old]
        new_seq = torch.where(torch.isfinite(kept_key), new_seq, -1)
        self.val, self.seq, self.pos, self.slot = new_val, new_seq, new_pos, slot
        # Entries that entered without qualifying (key inf: empty filler) need no crop.
        fill = entered & torch.isfinite(kept_key)
        ch = torch.arange(C, device=val.device)[:, None].expand(C, K)
        return ch[fill], new_i[fill], slot[fill]


class ActivationSpectrum:
    """Streaming dataset examples of ``channels`` of ``layer``: see the module docstring.

    ``channels``: a list of ints, a range, or None for all. ``k``: examples per column.
    ``fraction``: the slight columns aim at ``fraction`` x the running max / min; ``targets``:
    fixed targets instead, a dict ``{"positive": t+, "negative": t-}`` of floats or per-channel
    sequences (exact streaming; see :meth:`targets`). ``pool``: candidates kept for a relative
    slight column (default ``2 k``). ``crop_size``: side of the crop box in input pixels
    (default: the receptive field of one position, see :func:`receptive_field`; ``rf_mass``
    picks the effective one, 0.9, or the theoretical one, None); ``crop_px``: side of the
    stored crop (smaller boxes are stored at their own size).
    """

    def __init__(self, model, layer: str, channels: Sequence[int] | range | None = None, k: int = 9,
                 *, fraction: float = 0.1, targets: dict | None = None, pool: int | None = None,
                 crop_size: int | None = None, crop_px: int = 64, rf_mass: float | None = 0.9):
        m = as_model(model)
        m.check_layer(layer)
        shape = m.layer_info[layer].shape
        if len(shape) != 3:
            raise ValueError(f"layer {layer!r} has output shape {shape}; dataset examples need a "
                             "(C, H, W) map. Spatial layers: " + ", ".join(m.spatial_layers[:8]) + " ...")
        n_ch = shape[0]
        chans = list(range(n_ch)) if channels is None else [int(c) for c in channels]
        if not chans:
            raise ValueError("no channels to track")
        bad = [c for c in chans if not 0 <= c < n_ch]
        if bad:
            raise ValueError(f"layer {layer!r} has {n_ch} channels (0..{n_ch - 1}); got {bad[:5]}")
        if len(set(chans)) != len(chans):
            raise ValueError("channels contain duplicates")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
        self.model, self.layer, self.channels, self.k = m, layer, chans, int(k)
        self.fraction = float(fraction)
        self.pool = max(self.k, int(pool) if pool is not None else 2 * self.k)
        self._device = m.device
        self._chan_index = torch.tensor(chans, device=self._device)
        self._row = {c: i for i, c in enumerate(chans)}
        self._fixed = self._parse_targets(targets)

        box, centre, stride = receptive_field(m, layer, rf_mass)
        if crop_size is not None:
            cy, cx = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            half = int(crop_size) / 2
            box = (round(cy - half), round(cx - half), round(cy - half) + int(crop_size),
                   round(cx - half) + int(crop_size))
        self._rf = (box, centre, stride)
        side = max(box[2] - box[0], box[3] - box[1])
        self.crop_px = int(min(crop_px, side, *m.input_size))
        crop_shape = (m.in_channels, self.crop_px, self.crop_px)
        C = len(chans)
        self._cols = {"max": _Column(C, self.k, crop_shape, self._device),
                      "min": _Column(C, self.k, crop_shape, self._device),
                      "slightly_positive": _Column(C, self.pool if self._fixed is None else self.k,
                                                   crop_shape, self._device),
                      "slightly_negative": _Column(C, self.pool if self._fixed is None else self.k,
                                                   crop_shape, self._device)}
        self.images_seen = 0
        self._next_seq = 0
        self._ids: dict[int, Any] = {}
        self._lock = threading.Lock()

    # ---- configuration ----------------------------------------------------------------------
    def _parse_targets(self, targets):
        if targets is None:
            return None
        if not isinstance(targets, dict) or set(targets) != {"positive", "negative"}:
            raise ValueError('targets must be a dict {"positive": t+, "negative": t-}')
        out = {}
        for side, sign in (("positive", 1), ("negative", -1)):
            t = torch.as_tensor(np.asarray(targets[side], dtype=np.float32)).to(self._device)
            t = t.expand(len(self.channels)).clone() if t.ndim == 0 else t
            if t.shape != (len(self.channels),):
                raise ValueError(f"targets[{side!r}] needs one value or {len(self.channels)}")
            if (t * sign <= 0).any():
                raise ValueError(f"targets[{side!r}] must be {'>' if sign > 0 else '<'} 0")
            out[side] = t
        return out

    def _config(self) -> dict:
        return {"layer": self.layer, "channels": list(self.channels), "k": self.k,
                "fraction": self.fraction, "pool": self.pool, "crop_px": self.crop_px,
                "rf": self._rf, "fixed": None if self._fixed is None else
                {s: t.cpu().tolist() for s, t in self._fixed.items()}}

    def targets(self) -> dict[str, np.ndarray]:
        """Current slight targets per tracked channel, ``{"positive": (C,), "negative": (C,)}``;
        NaN where the channel has no positive (negative) value yet. Pass them as ``targets=`` to
        a second tracker for exact slight columns."""
        t = self._targets()
        return {s: v.cpu().numpy() for s, v in t.items()}

    def _targets(self) -> dict[str, torch.Tensor]:
        if self._fixed is not None:
            return self._fixed
        mx, mn = self._cols["max"], self._cols["min"]
        top = torch.where(mx.valid()[:, 0] & (mx.val[:, 0] > 0), mx.val[:, 0], float("nan"))
        bot = torch.where(mn.valid()[:, 0] & (mn.val[:, 0] < 0), mn.val[:, 0], float("nan"))
        return {"positive": self.fraction * top, "negative": self.fraction * bot}

    @property
    def receptive_field(self) -> tuple:
        """``(box, position, stride)`` used for crops: see :func:`receptive_field`."""
        return self._rf

    @property
    def nbytes(self) -> int:
        """Bytes held by the tracker's state (tensors plus the ids of current members)."""
        tensors = sum(t.numel() * t.element_size() for c in self._cols.values()
                      for t in c.tensors().values())
        return tensors + 64 * len(self._ids)

    # ---- the forward pass ---------------------------------------------------------------------
    def _activations(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        idx = self._chan_index
        all_ch = len(self.channels) == m.layer_info[self.layer].shape[0] and \
            self.channels == list(range(len(self.channels)))
        keep = (lambda t: t.float()) if all_ch else (lambda t: t.index_select(1, idx).float())
        with capture({self.layer: m.module_of(self.layer)}, stop_after_last=True,
                     transform=keep) as store:
            run_until_captured(lambda: m.module(x))
        if self.layer not in store:
            raise RuntimeError(f"layer {self.layer!r} was not called in the forward pass")
        return store[self.layer]

    def _boxes(self, pos: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
        """(n, 2) positions -> (n, 4) crop boxes (y0, x0, y1, x1), moved inside the input."""
        (y0, x0, y1, x1), (ic, jc), (sy, sx) = self._rf
        H, W = size_hw
        bh, bw = min(y1 - y0, H), min(x1 - x0, W)
        top = (y0 + (pos[:, 0].double() - ic) * sy).round().long().clamp(0, H - bh)
        left = (x0 + (pos[:, 1].double() - jc) * sx).round().long().clamp(0, W - bw)
        return torch.stack([top, left, top + bh, left + bw], 1)

    def _crops(self, x: torch.Tensor, img: torch.Tensor, boxes: torch.Tensor,
               shown: dict) -> torch.Tensor:
        """Cut boxes from images of the (normalized) batch ``x``, at crop_px, as uint8.

        The batch is turned into display pixels once, scaled so that a box becomes crop_px
        (area averaging), and crops are then plain gathers: far cheaper than resampling every
        crop when hundreds of examples enter a column at once. ``shown`` caches that scaled
        batch between the calls of one update.
        """
        bh, bw = int(boxes[0, 2] - boxes[0, 0]), int(boxes[0, 3] - boxes[0, 1])
        p = self.crop_px
        scale = min(1.0, p / max(bh, bw))
        if round(bh * scale) != p or round(bw * scale) != p:
            return self._crops_resampled(x, img, boxes)   # a box cut down by a smaller image
        if "pixels" not in shown:
            d = self.model.denormalize(x.float()).clamp_(0, 1)
            if scale < 1:
                H, W = x.shape[-2:]
                # area: each output pixel is the mean of the input pixels it covers
                d = F.interpolate(d, size=(max(p, round(H * scale)), max(p, round(W * scale))),
                                  mode="area")
            shown["pixels"] = d.mul_(255).round_().to(torch.uint8)
        pix = shown["pixels"]
        Hs, Ws = pix.shape[-2:]
        top = (boxes[:, 0].double() * Hs / x.shape[-2]).round().long().clamp(0, Hs - p)
        left = (boxes[:, 1].double() * Ws / x.shape[-1]).round().long().clamp(0, Ws - p)
        r = torch.arange(p, device=pix.device)
        rows = (top[:, None] + r)[:, :, None]             # (n, p, 1)
        cols = (left[:, None] + r)[:, None, :]            # (n, 1, p)
        out = pix.permute(0, 2, 3, 1)[img[:, None, None], rows, cols]   # (n, p, p, C)
        return out.permute(0, 3, 1, 2)

    def _crops_resampled(self, x: torch.Tensor, img: torch.Tensor, boxes: torch.Tensor):
        """Crops of boxes whose shape does not scale to crop_px x crop_px: resampled each."""
        from torchvision.ops import roi_align

        rois = torch.cat([img[:, None].float(), boxes[:, [1, 0, 3, 2]].float()], 1)
        out = roi_align(x.float(), rois, (self.crop_px, self.crop_px), spatial_scale=1.0,
                        sampling_ratio=2, aligned=True)
        out = self.model.denormalize(out).clamp_(0, 1)
        return out.mul_(255).round_().to(torch.uint8)

    # ---- updates -------------------------------------------------------------------------------
    def _register(self, n: int, ids: Sequence | None) -> torch.Tensor:
        if ids is not None:
            ids = list(ids)
            if len(ids) != n:
                raise ValueError(f"got {len(ids)} ids for {n} images")
        start = self._next_seq
        for i in range(n):
            given = None if ids is None else ids[i]
            self._ids[start + i] = self.images_seen + i if given is None else given
        self._next_seq += n
        self.images_seen += n
        return torch.arange(start, start + n, device=self._device)

    def _prune_ids(self) -> None:
        # Ids of images that left every column are dropped, so memory stays bounded.
        slots = sum(c.seq.numel() for c in self._cols.values())
        if len(self._ids) <= 2 * slots + 1024:
            return
        live = torch.unique(torch.cat([c.seq.flatten() for c in self._cols.values()]))
        live = set(live.cpu().tolist())
        self._ids = {s: v for s, v in self._ids.items() if s in live}

    def _merge_candidates(self, vmax, amax, vmin, amin, seq, crop_fn) -> None:
        """Merge per-image candidates (C, n) into the four columns; crop_fn makes entering crops."""
        inf = torch.tensor(float("inf"), device=vmax.device)
        # Running extremes first, so the relative targets already include this batch.
        for name, v, p, key in (("max", vmax, amax, -vmax), ("min", vmin, amin, vmin)):
            col = self._cols[name]
            sign = -1 if name == "max" else 1
            key_old = torch.where(col.valid(), sign * col.val, inf)
            ch, ci, slot = col.select(key_old, v, seq.expand_as(v), p, key)
            if len(ch):
                col.crop[ch, slot] = crop_fn(ch, ci, p)
        t = self._targets()
        for name, v, p, side, ok in (("slightly_positive", vmax, amax, "positive", vmax > 0),
                                     ("slightly_negative", vmin, amin, "negative", vmin < 0)):
            col = self._cols[name]
            tt = t[side][:, None]
            key_old = torch.where(col.valid(), (col.val - tt).abs(), inf)
            key_old = torch.where(torch.isnan(key_old), inf, key_old)
            key = torch.where(ok, (v - tt).abs(), inf)
            key = torch.where(torch.isnan(key), inf, key)
            ch, ci, slot = col.select(key_old, v, seq.expand_as(v), p, key)
            if len(ch):
                col.crop[ch, slot] = crop_fn(ch, ci, p)

    def update(self, images: Any, ids: Sequence | None = None) -> "ActivationSpectrum":
        """Add a batch: anything ``Model.prepare`` reads (a list of images, one image, or a ready
        (N, C, H, W) input tensor). ``ids``: one per image (default: index in the stream)."""
        m = self.model
        if isinstance(images, (list, tuple)) and not images:
            return self
        x = m.prepare(images)
        with self._lock, preserved(m.module), torch.inference_mode():
            a = self._activations(x)                       # (N, C, h, w)
            N, C, h, w = a.shape
            flat = a.flatten(2)
            vmax, imax = flat.max(2)
            vmin, imin = flat.min(2)
            amax = torch.stack([imax // w, imax % w], -1).transpose(0, 1)   # (C, N, 2)
            amin = torch.stack([imin // w, imin % w], -1).transpose(0, 1)
            seq = self._register(N, ids)[None, :]

            shown: dict = {}

            def crop_fn(ch, ci, pos):
                return self._crops(x, ci, self._boxes(pos[ch, ci], x.shape[-2:]), shown)

            self._merge_candidates(vmax.T, amax, vmin.T, amin, seq, crop_fn)
            self._prune_ids()
        return self

    # ---- merging and state ------------------------------------------------------------------------
    def _check_compatible(self, other: "ActivationSpectrum") -> None:
        if not isinstance(other, ActivationSpectrum):
            raise TypeError(f"can only merge another ActivationSpectrum, not {type(other).__name__}")
        a, b = self._config(), other._config()
        diff = [key for key in a if a[key] != b[key]]
        if diff:
            raise ValueError(f"trackers differ in {', '.join(diff)}; only trackers of the same "
                             "layer, channels, k and settings merge")

    def merge(self, other: "ActivationSpectrum") -> "ActivationSpectrum":
        """Fold ``other``'s examples into this tracker, as if its images came after ours."""
        self._check_compatible(other)
        if other is self:
            other = copy.copy(other)
        with self._lock:
            offset = self._next_seq
            # Candidates are other's entries, all columns at once, with seqs moved past ours.
            mx, mn = other._cols["max"], other._cols["min"]
            sp, sn = other._cols["slightly_positive"], other._cols["slightly_negative"]
            cols = [mx, mn, sp, sn]
            val = torch.cat([c.val for c in cols], 1).to(self._device)
            seq = torch.cat([torch.where(c.valid(), c.seq + offset, -1) for c in cols], 1).to(self._device)
            pos = torch.cat([c.pos for c in cols], 1).to(self._device)
            crops = torch.cat([c.crop.gather(1, c.slot[..., None, None, None].expand_as(c.crop))
                               for c in cols], 1).to(self._device)
            valid = seq >= 0
            # Each image appears at most once per column: the max side draws from other's max
            # and slightly-positive entries (both hold the image's spatial max), the min side
            # from min and slightly-negative ones; duplicates of one image are removed.
            K1, K2 = mx.size, mn.size
            side_max = torch.cat([torch.arange(0, K1), torch.arange(K1 + K2, K1 + K2 + sp.size)])
            side_min = torch.cat([torch.arange(K1, K1 + K2),
                                  torch.arange(K1 + K2 + sp.size, val.shape[1])])
            inf = torch.tensor(float("inf"), device=self._device)

            def unique_side(idx):
                v, s, p, ok = val[:, idx], seq[:, idx], pos[:, idx], valid[:, idx]
                # Same image twice in a row: keep the first, mark the rest invalid.
                s_sorted, o = torch.where(ok, s, -1 - torch.arange(len(idx), device=s.device)
                                          ).sort(dim=1, stable=True)
                dup = torch.zeros_like(ok)
                dup.scatter_(1, o[:, 1:], (s_sorted[:, 1:] == s_sorted[:, :-1]) & (s_sorted[:, 1:] >= 0))
                return v, s, p, ok & ~dup, idx

            vmax, smax, pmax, okmax, imax = unique_side(side_max.to(self._device))
            vmin, smin, pmin, okmin, imin = unique_side(side_min.to(self._device))

            def crop_from(index):
                def fn(ch, ci, _pos):
                    return crops[ch, index[ci]]
                return fn

            for name, v, s, p, ok, idx, sign in (("max", vmax, smax, pmax, okmax, imax, -1),
                                                 ("min", vmin, smin, pmin, okmin, imin, 1)):
                col = self._cols[name]
                key_old = torch.where(col.valid(), sign * col.val, inf)
                ch, ci, slot = col.select(key_old, v, s, p, torch.where(ok, sign * v, inf))
                if len(ch):
                    col.crop[ch, slot] = crop_from(idx)(ch, ci, p)
            t = self._targets()
            for name, v, s, p, ok, idx, side, good in (
                    ("slightly_positive", vmax, smax, pmax, okmax, imax, "positive", vmax > 0),
                    ("slightly_negative", vmin, smin, pmin, okmin, imin, "negative", vmin < 0)):
                col = self._cols[name]
                tt = t[side][:, None]
                key_old = torch.where(col.valid(), (col.val - tt).abs(), inf)
                key_old = torch.where(torch.isnan(key_old), inf, key_old)
                key = torch.where(ok & good, (v - tt).abs(), inf)
                key = torch.where(torch.isnan(key), inf, key)
                ch, ci, slot = col.select(key_old, v, s, p, key)
                if len(ch):
                    col.crop[ch, slot] = crop_from(idx)(ch, ci, p)
            self._ids.update({s + offset: v for s, v in other._ids.items()})
            self._next_seq += other._next_seq
            self.images_seen += other.images_seen
            self._prune_ids()
        return self

    @classmethod
    def merged(cls, *trackers: "ActivationSpectrum") -> "ActivationSpectrum":
        """A new tracker holding the examples of all ``trackers`` (in order); they are unchanged."""
        if not trackers:
            raise ValueError("nothing to merge")
        out = trackers[0].copy()
        for t in trackers[1:]:
            out.merge(t)
        return out

    def copy(self) -> "ActivationSpectrum":
        """An independent tracker with the same state (sharing the model)."""
        new = copy.copy(self)
        new._cols = {n: copy.copy(c) for n, c in self._cols.items()}
        for c in new._cols.values():
            for key, t in c.tensors().items():
                setattr(c, key, t.clone())
        new._ids = dict(self._ids)
        new._lock = threading.Lock()
        return new

    def state_dict(self) -> dict:
        """Everything needed to rebuild the examples (tensors on the CPU, ids, counters); picklable,
        e.g. for ``torch.distributed.all_gather_object`` followed by :meth:`load_state_dict` and
        :meth:`merge`."""
        live = set(torch.unique(torch.cat([c.seq.flatten() for c in self._cols.values()])).tolist())
        return {"config": self._config(), "images_seen": self.images_seen,
                "next_seq": self._next_seq,
                "ids": {s: v for s, v in self._ids.items() if s in live},
                "columns": {n: {k: t.detach().cpu().clone() for k, t in c.tensors().items()}
                            for n, c in self._cols.items()}}

    def load_state_dict(self, state: dict) -> "ActivationSpectrum":
        """Replace this tracker's state with ``state`` (from a tracker with the same settings)."""
        mine = self._config()
        diff = [k for k in mine if mine[k] != state["config"].get(k)]
        if diff:
            raise ValueError(f"state is from a tracker with other settings: {', '.join(diff)}")
        for n, c in self._cols.items():
            for k, t in state["columns"][n].items():
                setattr(c, k, t.to(self._device).clone())
        self.images_seen = int(state["images_seen"])
        self._next_seq = int(state["next_seq"])
        self._ids = dict(state["ids"])
        return self

    # ---- results --------------------------------------------------------------------------------
    def examples(self, channel: int) -> dict[str, list[Example]]:
        """The four columns of one channel: ``{"min", "slightly_negative", "slightly_positive",
        "max"}`` -> lists of :class:`Example`, strongest (or closest to the target) first."""
        if channel not in self._row:
            raise ValueError(f"channel {channel} is not tracked; tracked: {self.channels[:10]}"
                             + (" ..." if len(self.channels) > 10 else ""))
        r = self._row[channel]
        out = {}
        with self._lock:
            for name in COLUMNS:
                col = self._cols[name]
                seq = col.seq[r].cpu()
                valid = seq >= 0
                n = min(int(valid.sum()), self.k)
                vals, pos = col.val[r].cpu(), col.pos[r].cpu()
                slots = col.slot[r].cpu()
                boxes = self._boxes(pos[:n], self.model.input_size).tolist()
                crops = col.crop[r, slots[:n].to(col.crop.device)].cpu()
                out[name] = [Example(float(vals[i]), self._ids[int(seq[i])],
                                     (int(pos[i, 0]), int(pos[i, 1])), tuple(boxes[i]),
                                     crops[i].permute(1, 2, 0).numpy(), channel, name)
                             for i in range(n)]
        return out

    # ---- scanning a data set ----------------------------------------------------------------------
    def scan_iter(self, data: Any, batch_size: int = 32, *, stop: threading.Event | None = None,
                  limit: int | None = None) -> Iterator[tuple[int, int | None]]:
        """Update from a whole data source, yielding ``(images_seen_in_this_scan, total or None)``
        after each batch; ends early when ``stop`` is set or after ``limit`` images.

        ``data``: see :func:`cnnwidgets.data.datasets.iter_batches` (a DataLoader, a folder, a
        Dataset, an iterable of images or of dicts with an "image" key, a 4-D tensor).
        """
        from ..data.datasets import iter_batches, stream_length

        total = stream_length(data)
        if limit is not None:
            total = limit if total is None else min(total, limit)
        seen = 0
        for images, ids in iter_batches(data, batch_size):
            if stop is not None and stop.is_set():
                return
            if limit is not None and seen + len(images) > limit:
                images, ids = images[:limit - seen], (None if ids is None else ids[:limit - seen])
            if len(images) == 0:
                return
            self.update(images, ids)
            seen += len(images)
            yield seen, total
            if limit is not None and seen >= limit:
                return

    def scan(self, data: Any, batch_size: int = 32, *, progress: bool | str | Callable = "auto",
             stop: threading.Event | None = None, limit: int | None = None) -> "ActivationSpectrum":
        """Update from a whole data source (see :meth:`scan_iter`); returns ``self``.

        ``progress``: "auto" (a tqdm bar outside notebooks, where a widget shows progress
        instead), True / False, or a callable ``(images_seen, total or None)`` called after
        each batch.
        """
        bar = None
        callback = progress if callable(progress) else None
        if progress is True or (progress == "auto" and not _in_notebook()):
            from tqdm import tqdm

            bar = tqdm(unit="img", desc=f"scanning {self.layer}")
        try:
            last = 0
            for seen, total in self.scan_iter(data, batch_size, stop=stop, limit=limit):
                if bar is not None:
                    bar.total = total
                    bar.update(seen - last)
                last = seen
                if callback is not None:
                    callback(seen, total)
        finally:
            if bar is not None:
                bar.close()
        return self

    def __repr__(self) -> str:
        return (f"<ActivationSpectrum {self.layer}: {len(self.channels)} channels, k={self.k}, "
                f"{self.images_seen} images>")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
