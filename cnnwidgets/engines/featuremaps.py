"""Feature maps (activations) of one layer, with a small cache for sliders that re-read them.

The forward pass stops right after the layer (no classifier head), runs under
``torch.inference_mode`` and leaves the model as found. Results are cached per (image, layer):
the key is a content hash of the prepared input tensor, the model's identity with the
version counters of its weights (an optimiser step or ``load_state_dict`` changes them, so a
model that trains never reads stale maps) and the layer name.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.guard import preserved
from ..core.hooks import capture, run_until_captured
from ..core.inputs import is_batch
from ..core.model_base import as_model

CACHE_ENTRIES = 64  # at most this many (image, layer) maps ...
CACHE_BYTES = 256 * 2**20  # ... and at most this many bytes in all


class _LRU:
    """A bounded least-recently-used map of read-only arrays (entries and bytes both bounded)."""

    def __init__(self, entries: int, nbytes: int):
        self.max_entries, self.max_bytes = entries, nbytes
        self._data: OrderedDict[tuple, tuple[weakref.ref, np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, module: nn.Module) -> np.ndarray | None:
        with self._lock:
            entry = self._data.get(key)
            # The id of a collected module can be reused: check that it is the same object.
            if entry is None or entry[0]() is not module:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple, module: nn.Module, value: np.ndarray) -> None:
        value.setflags(write=False)
        if value.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1].nbytes
            self._data[key] = (weakref.ref(module), value)
            self._bytes += value.nbytes
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._data.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def info(self) -> dict:
        with self._lock:
            return {
                "entries": len(self._data),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
                "max_entries": self.max_entries,
                "max_bytes": self.max_bytes,
            }


_cache = _LRU(CACHE_ENTRIES, CACHE_BYTES)


def clear_cache() -> None:
    """Forget every cached feature map."""
    _cache.clear()


def cache_info() -> dict:
    """Entries, bytes, hits and misses of the feature-map cache."""
    return _cache.info()


def input_digest(x: torch.Tensor) -> str:
    """Content hash of one prepared input tensor (shape, dtype and values)."""
    t = x.detach().to("cpu").contiguous()
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{tuple(t.shape)}{t.dtype}".encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def weights_version(module: nn.Module) -> int:
    """A number that changes whenever a parameter or buffer is modified in place."""
    return hash(tuple(t._version for t in (*module.parameters(), *module.buffers())))


def _layer_forward(m, module: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """Run ``x`` up to and including ``layer``; return its output (detached)."""
    target = m.module_of(layer)
    with (
        preserved(module),
        torch.inference_mode(),
        capture({layer: target}, stop_after_last=True) as store,
    ):
        run_until_captured(lambda: module(x))
    if layer not in store:
        raise RuntimeError(
            f"layer {layer!r} was not called in the forward pass, so it has no feature maps"
        )
    return store[layer]


def feature_maps(model, images: Any, layer: str, *, cache: bool = True) -> np.ndarray:
    """Activations of ``layer`` for one image, (C, H, W); a list of images gives (N, C, H, W).

    ``images``: anything ``Model.prepare`` reads (a bundled name, path, PIL image, array, a
    list of those, or a ready (N, C, H, W) input tensor). Layers with non-spatial outputs give
    their own shape (e.g. (K,) for a linear layer). Cached arrays are read-only; with
    ``cache=False`` the forward pass always runs and nothing is stored.
    """
    m = as_model(model)
    m.check_layer(layer)
    module = m.module
    x = m.prepare(images)
    if not cache:
        maps = _layer_forward(m, module, layer, x).float().cpu().numpy()
        return maps if is_batch(images) else maps[0]

    version = weights_version(module)
    keys = [(id(module), version, str(x.device), layer, input_digest(xi)) for xi in x]
    found = [_cache.get(k, module) for k in keys]
    missing = [i for i, a in enumerate(found) if a is None]
    if missing:
        out = _layer_forward(m, module, layer, x[missing]).float().cpu().numpy()
        for j, i in enumerate(missing):
            found[i] = np.array(out[j])  # own memory, so one entry's bytes are its own
            _cache.put(keys[i], module, found[i])
    return np.stack(found) if is_batch(images) else found[0]


def top_channels(maps: np.ndarray, k: int = 8, by: str = "mean") -> np.ndarray:
    """Indices of the ``k`` most active channels, strongest first.

    ``maps``: (C, H, W) gives (k,); (N, C, H, W) gives (N, k), one ranking per image.
    ``by``: "mean" (average activation over positions) or "max" (strongest single position).
    """
    a = np.asarray(maps)
    if a.ndim not in (3, 4):
        raise ValueError(f"expected feature maps of shape (C, H, W) or (N, C, H, W), got {a.shape}")
    if by == "mean":
        score = a.mean(axis=(-2, -1))
    elif by == "max":
        score = a.max(axis=(-2, -1))
    else:
        raise ValueError(f"unknown ranking {by!r}: use 'mean' or 'max'")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), score.shape[-1])
    order = np.argsort(-score, axis=-1, kind="stable")
    return order[..., :k]
