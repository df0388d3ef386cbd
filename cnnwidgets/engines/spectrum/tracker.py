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

This package: :mod:`.preactivation` (which layers are signed), :mod:`.receptive_field` (where a
crop is cut), :mod:`.columns` (the top-k tables and their one merge), this module (the tracker:
updates, crops, merging, state) and :mod:`.scan` (a data set with progress).

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...core.errors import InputError, ParameterError
from ...core.guard import preserved
from ...core.hooks import capture, run_until_captured
from ...core.model_base import as_model
from .columns import COLUMNS, Column, Side, merge_into
from .receptive_field import receptive_field
from .scan import scan, scan_iter


def _channel(c: Any) -> int:
    """A channel number as an int; a float that is not whole (1.5) or a bool is refused, not
    truncated."""
    if isinstance(c, torch.Tensor) and c.numel() == 1:
        c = c.item()
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer, float, np.floating)):
        raise ParameterError(f"a channel is a whole number, not {c!r}")
    if int(c) != c:
        raise ParameterError(f"a channel is a whole number, not {c!r}")
    return int(c)


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

    def __init__(
        self,
        model,
        layer: str,
        channels: Sequence[int] | range | None = None,
        k: int = 9,
        *,
        fraction: float = 0.1,
        targets: dict | None = None,
        pool: int | None = None,
        crop_size: int | None = None,
        crop_px: int = 64,
        rf_mass: float | None = 0.9,
    ):
        m = as_model(model)
        m.check_layer(layer)
        shape = m.layer_info[layer].shape
        if len(shape) != 3:
            raise ValueError(
                f"layer {layer!r} has output shape {shape}; dataset examples need a "
                "(C, H, W) map. Spatial layers: " + ", ".join(m.spatial_layers[:8]) + " ..."
            )
        n_ch = shape[0]
        chans = list(range(n_ch)) if channels is None else [_channel(c) for c in channels]
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
            box = (
                round(cy - half),
                round(cx - half),
                round(cy - half) + int(crop_size),
                round(cx - half) + int(crop_size),
            )
        self._rf = (box, centre, stride)
        side = max(box[2] - box[0], box[3] - box[1])
        self.crop_px = int(min(crop_px, side, *m.input_size))
        crop_shape = (m.in_channels, self.crop_px, self.crop_px)
        C = len(chans)
        self._cols = {
            "max": Column(C, self.k, crop_shape, self._device),
            "min": Column(C, self.k, crop_shape, self._device),
            "slightly_positive": Column(
                C, self.pool if self._fixed is None else self.k, crop_shape, self._device
            ),
            "slightly_negative": Column(
                C, self.pool if self._fixed is None else self.k, crop_shape, self._device
            ),
        }
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
        return {
            "layer": self.layer,
            "channels": list(self.channels),
            "k": self.k,
            "fraction": self.fraction,
            "pool": self.pool,
            "crop_px": self.crop_px,
            "rf": self._rf,
            "fixed": None
            if self._fixed is None
            else {s: t.cpu().tolist() for s, t in self._fixed.items()},
        }

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
        tensors = sum(
            t.numel() * t.element_size() for c in self._cols.values() for t in c.tensors().values()
        )
        return tensors + 64 * len(self._ids)

    # ---- the forward pass ---------------------------------------------------------------------
    def _activations(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        idx = self._chan_index
        all_ch = len(self.channels) == m.layer_info[self.layer].shape[0] and self.channels == list(
            range(len(self.channels))
        )
        keep = (lambda t: t.float()) if all_ch else (lambda t: t.index_select(1, idx).float())
        with capture(
            {self.layer: m.resolve_layer(self.layer)}, stop_after_last=True, transform=keep
        ) as store:
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

    def _crops(
        self, x: torch.Tensor, img: torch.Tensor, boxes: torch.Tensor, shown: dict
    ) -> torch.Tensor:
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
            return self._crops_resampled(x, img, boxes)  # a box cut down by a smaller image
        if "pixels" not in shown:
            d = self.model.denormalize(x.float()).clamp_(0, 1)
            if scale < 1:
                H, W = x.shape[-2:]
                # area: each output pixel is the mean of the input pixels it covers
                d = F.interpolate(
                    d, size=(max(p, round(H * scale)), max(p, round(W * scale))), mode="area"
                )
            shown["pixels"] = d.mul_(255).round_().to(torch.uint8)
        pix = shown["pixels"]
        Hs, Ws = pix.shape[-2:]
        top = (boxes[:, 0].double() * Hs / x.shape[-2]).round().long().clamp(0, Hs - p)
        left = (boxes[:, 1].double() * Ws / x.shape[-1]).round().long().clamp(0, Ws - p)
        r = torch.arange(p, device=pix.device)
        rows = (top[:, None] + r)[:, :, None]  # (n, p, 1)
        cols = (left[:, None] + r)[:, None, :]  # (n, 1, p)
        out = pix.permute(0, 2, 3, 1)[img[:, None, None], rows, cols]  # (n, p, p, C)
        return out.permute(0, 3, 1, 2)

    def _crops_resampled(self, x: torch.Tensor, img: torch.Tensor, boxes: torch.Tensor):
        """Crops of boxes whose shape does not scale to crop_px x crop_px: resampled each."""
        from torchvision.ops import roi_align

        rois = torch.cat([img[:, None].float(), boxes[:, [1, 0, 3, 2]].float()], 1)
        out = roi_align(
            x.float(),
            rois,
            (self.crop_px, self.crop_px),
            spatial_scale=1.0,
            sampling_ratio=2,
            aligned=True,
        )
        out = self.model.denormalize(out).clamp_(0, 1)
        return out.mul_(255).round_().to(torch.uint8)

    # ---- updates -------------------------------------------------------------------------------
    def _check_ids(self, n: int, ids: Sequence | None) -> list | None:
        """``ids`` as a list, refused (before anything is counted) when they would show one
        image twice in a column: an id repeated within the batch, or one that names an
        example the tracker holds now (see :meth:`update`)."""
        if ids is None:
            return None
        ids = list(ids)
        if len(ids) != n:
            raise InputError(f"got {len(ids)} ids for {n} images: give one id per image")
        for i in ids:
            try:
                hash(i)
            except TypeError:
                raise InputError(
                    f"image id {i!r} is not hashable: use a number, a string or a tuple"
                ) from None
        # None in the list: that image's index in the stream, as with ids=None.
        given = [i for i in ids if i is not None]
        seen: set = set()
        repeated = [i for i in given if i in seen or seen.add(i)]
        if repeated:
            raise InputError(
                f"image id {repeated[0]!r} appears more than once in this batch: an id names "
                "one image, and each image is counted once"
            )
        held = self._held_ids()
        again = [i for i in given if i in held]
        if again:
            raise InputError(
                f"image id {again[0]!r} was already added and is one of the tracker's examples: "
                "an image is counted once (to scan the data again, use a new tracker)"
            )
        return ids

    def _held_ids(self) -> set:
        live = torch.unique(torch.cat([c.seq.flatten() for c in self._cols.values()]))
        return {self._ids[s] for s in live.tolist() if s >= 0 and s in self._ids}

    def _register(self, n: int, ids: list | None) -> torch.Tensor:
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

    def update(self, images: Any, ids: Sequence | None = None) -> ActivationSpectrum:
        """Add a batch: anything ``Model.prepare`` reads (a list of images, one image, or a ready
        (N, C, H, W) input tensor).

        ``ids``: one per image (default: the image's index in the stream), hashable. An id
        names one image, and each image is counted once: an id repeated within the batch, or
        one that names an example the tracker holds now, raises
        :class:`~cnnwidgets.core.InputError` before anything is counted. The ids of images
        that have left every column are forgotten (so that memory stays bounded), and such
        an id given again names a new image. To scan the same data again, use a new tracker.
        """
        m = self.model
        if isinstance(images, (list, tuple)) and not images:
            return self
        x = m.prepare(images)
        with self._lock, preserved(m.module), torch.inference_mode():
            ids = self._check_ids(x.shape[0], ids)
            a = self._activations(x)  # (N, C, h, w)
            N, C, h, w = a.shape
            flat = a.flatten(2)
            vmax, imax = flat.max(2)
            vmin, imin = flat.min(2)
            amax = torch.stack([imax // w, imax % w], -1).transpose(0, 1)  # (C, N, 2)
            amin = torch.stack([imin // w, imin % w], -1).transpose(0, 1)
            seq = self._register(N, ids)[None, :]

            shown: dict = {}

            def crop_fn(ch, ci, pos):
                return self._crops(x, ci, self._boxes(pos[ch, ci], x.shape[-2:]), shown)

            every = torch.ones_like(vmax.T, dtype=torch.bool)
            merge_into(
                self._cols,
                Side(vmax.T, seq.expand(C, N), amax, every, crop_fn),
                Side(vmin.T, seq.expand(C, N), amin, every, crop_fn),
                self._targets,
            )
            self._prune_ids()
        return self

    # ---- merging and state -----------------------------------------------------------------------
    def _check_compatible(self, other: ActivationSpectrum) -> None:
        if not isinstance(other, ActivationSpectrum):
            raise TypeError(
                f"can only merge another ActivationSpectrum, not {type(other).__name__}"
            )
        a, b = self._config(), other._config()
        diff = [key for key in a if a[key] != b[key]]
        if diff:
            raise ValueError(
                f"trackers differ in {', '.join(diff)}; only trackers of the same "
                "layer, channels, k and settings merge"
            )

    def merge(self, other: ActivationSpectrum) -> ActivationSpectrum:
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
            seq = torch.cat([torch.where(c.valid(), c.seq + offset, -1) for c in cols], 1).to(
                self._device
            )
            pos = torch.cat([c.pos for c in cols], 1).to(self._device)
            crops = torch.cat(
                [c.crop.gather(1, c.slot[..., None, None, None].expand_as(c.crop)) for c in cols], 1
            ).to(self._device)
            valid = seq >= 0
            # Each image appears at most once per column: the max side draws from other's max
            # and slightly-positive entries (both hold the image's spatial max), the min side
            # from min and slightly-negative ones; duplicates of one image are removed.
            K1, K2 = mx.size, mn.size
            side_max = torch.cat([torch.arange(0, K1), torch.arange(K1 + K2, K1 + K2 + sp.size)])
            side_min = torch.cat(
                [torch.arange(K1, K1 + K2), torch.arange(K1 + K2 + sp.size, val.shape[1])]
            )

            def unique_side(idx):
                v, s, p, ok = val[:, idx], seq[:, idx], pos[:, idx], valid[:, idx]
                # Same image twice in a row: keep the first, mark the rest invalid.
                s_sorted, o = torch.where(ok, s, -1 - torch.arange(len(idx), device=s.device)).sort(
                    dim=1, stable=True
                )
                dup = torch.zeros_like(ok)
                dup.scatter_(
                    1, o[:, 1:], (s_sorted[:, 1:] == s_sorted[:, :-1]) & (s_sorted[:, 1:] >= 0)
                )
                return v, s, p, ok & ~dup, idx

            vmax, smax, pmax, okmax, imax = unique_side(side_max.to(self._device))
            vmin, smin, pmin, okmin, imin = unique_side(side_min.to(self._device))

            def crop_from(index):
                def fn(ch, ci, _pos):
                    return crops[ch, index[ci]]

                return fn

            merge_into(
                self._cols,
                Side(vmax, smax, pmax, okmax, crop_from(imax)),
                Side(vmin, smin, pmin, okmin, crop_from(imin)),
                self._targets,
            )
            self._ids.update({s + offset: v for s, v in other._ids.items()})
            self._next_seq += other._next_seq
            self.images_seen += other.images_seen
            self._prune_ids()
        return self

    @classmethod
    def merged(cls, *trackers: ActivationSpectrum) -> ActivationSpectrum:
        """A new tracker holding the examples of all ``trackers`` (in order); they are unchanged."""
        if not trackers:
            raise ValueError("nothing to merge")
        out = trackers[0].copy()
        for t in trackers[1:]:
            out.merge(t)
        return out

    def copy(self) -> ActivationSpectrum:
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
        return {
            "config": self._config(),
            "images_seen": self.images_seen,
            "next_seq": self._next_seq,
            "ids": {s: v for s, v in self._ids.items() if s in live},
            "columns": {
                n: {k: t.detach().cpu().clone() for k, t in c.tensors().items()}
                for n, c in self._cols.items()
            },
        }

    def load_state_dict(self, state: dict) -> ActivationSpectrum:
        """Replace this tracker's state with ``state`` (from :meth:`state_dict` of a tracker
        with the same settings). A state that is not one, lacks a part or has a part of
        another shape raises :class:`~cnnwidgets.core.InputError` naming it, and the tracker
        is left as it was."""
        self._check_state(state)
        with self._lock:
            for n, c in self._cols.items():
                for k, t in state["columns"][n].items():
                    setattr(c, k, t.to(self._device).clone())
            self.images_seen = int(state["images_seen"])
            self._next_seq = int(state["next_seq"])
            self._ids = dict(state["ids"])
        return self

    def _check_state(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise InputError(
                f"not a state of an ActivationSpectrum (a {type(state).__name__}); "
                "pass what tracker.state_dict() returned"
            )
        keys = ("config", "images_seen", "next_seq", "ids", "columns")
        missing = [k for k in keys if k not in state]
        if missing:
            raise InputError(
                f"the state is missing {', '.join(missing)}: not a state of an "
                "ActivationSpectrum (pass what tracker.state_dict() returned)"
            )
        if not isinstance(state["config"], dict):
            raise InputError("the state's config is not a dict")
        mine = self._config()
        diff = [k for k in mine if mine[k] != state["config"].get(k)]
        if diff:
            raise InputError(
                f"state is from a tracker with other settings: {', '.join(diff)} "
                f"(this tracker: {', '.join(f'{k}={mine[k]!r}' for k in diff)})"
            )
        if not isinstance(state["ids"], dict):
            raise InputError("the state's ids are not a dict of sequence number -> image id")
        for key in ("images_seen", "next_seq"):
            if isinstance(state[key], bool) or not isinstance(state[key], (int, np.integer)):
                raise InputError(f"the state's {key} is not a whole number: {state[key]!r}")
        columns = state["columns"]
        if not isinstance(columns, dict):
            raise InputError("the state's columns are not a dict")
        for n, c in self._cols.items():
            if n not in columns:
                raise InputError(f"column {n!r} is missing from the state")
            for k, t in c.tensors().items():
                got = columns[n].get(k) if isinstance(columns[n], dict) else None
                if got is None:
                    raise InputError(f"column {n!r}: tensor {k!r} is missing from the state")
                if not isinstance(got, torch.Tensor) or got.shape != t.shape:
                    shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got)
                    raise InputError(
                        f"column {n!r}: tensor {k!r} has shape {shape}, expected {tuple(t.shape)}"
                    )
                if got.dtype != t.dtype:
                    raise InputError(
                        f"column {n!r}: tensor {k!r} is {got.dtype}, expected {t.dtype}"
                    )

    # ---- results --------------------------------------------------------------------------------
    def examples(self, channel: int) -> dict[str, list[Example]]:
        """The four columns of one channel: ``{"min", "slightly_negative", "slightly_positive",
        "max"}`` -> lists of :class:`Example`, strongest (or closest to the target) first."""
        if channel not in self._row:
            raise ValueError(
                f"channel {channel} is not tracked; tracked: {self.channels[:10]}"
                + (" ..." if len(self.channels) > 10 else "")
            )
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
                out[name] = [
                    Example(
                        float(vals[i]),
                        self._ids[int(seq[i])],
                        (int(pos[i, 0]), int(pos[i, 1])),
                        tuple(boxes[i]),
                        crops[i].permute(1, 2, 0).numpy(),
                        channel,
                        name,
                    )
                    for i in range(n)
                ]
        return out

    # ---- scanning a data set ---------------------------------------------------------------------
    def scan_iter(
        self,
        data: Any,
        batch_size: int = 32,
        *,
        stop: threading.Event | None = None,
        limit: int | None = None,
    ) -> Iterator[tuple[int, int | None]]:
        """Update from a whole data source; see :func:`.scan.scan_iter`."""
        return scan_iter(self, data, batch_size, stop=stop, limit=limit)

    def scan(
        self,
        data: Any,
        batch_size: int = 32,
        *,
        progress: bool | str | Callable = "auto",
        stop: threading.Event | None = None,
        limit: int | None = None,
    ) -> ActivationSpectrum:
        """Update from a whole data source with progress; see :func:`.scan.scan`."""
        scan(self, data, batch_size, progress=progress, stop=stop, limit=limit)
        return self

    def __repr__(self) -> str:
        return (
            f"<ActivationSpectrum {self.layer}: {len(self.channels)} channels, k={self.k}, "
            f"{self.images_seen} images>"
        )
