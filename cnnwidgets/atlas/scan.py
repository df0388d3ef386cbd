"""The two passes over the data that give every channel its dataset examples.

``ActivationSpectrum`` keeps four columns per channel. ``max`` and ``min`` are exact however
the stream is split and merged. The slight columns aim at ``fraction`` x the channel's
largest (smallest) value, which is only known once every image has been seen; with the
default running target they are approximate and depend on the order of the data. So that
an atlas does not depend on how it was split across ranks (or interrupted), it scans twice:

1. the *range* pass takes each channel's maximum and minimum over the whole data set, one
   truncated forward pass per batch for all layers at once (order-free, so its chunks go
   round-robin across ranks);
2. the *examples* pass runs one ``ActivationSpectrum`` per layer with fixed targets
   ``fraction * max`` and ``fraction * min`` from pass 1. Every column is then a top-k by
   a fixed key, ties broken by position in the stream, which ``merge`` reproduces exactly
   when trackers are merged in stream order: ranks scan contiguous blocks of chunks and
   are merged in rank order.

Both passes checkpoint: pass 1 one small file per chunk, pass 2 the running trackers of a
rank's block after each chunk (at most every ``checkpoint_interval`` seconds). A resumed
run reuses them; each chunk's image ids are hashed in pass 1 and checked in pass 2, so a
data source that changed in between is an error instead of a silent mix.

Negative side: the scanned layer is ``cw.pre_activation_layer(model, layer)`` - for an
activation (ReLU, ReLU6, SiLU, ...) the layer that feeds it, whose map is signed; for any
other layer the layer itself. Example values are that layer's values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..engines.spectrum import ActivationSpectrum
from .errors import DataChangedError
from .forward import capture
from .sources import Source, decode_items
from .store import Layout, digest, plain_id, read_torch, write_torch

MAX_SKIPPED_LISTED = 50


@dataclass
class LayerSpec:
    """An atlas layer: ``name`` (rendered, listed), ``scan`` (its maps give the examples),
    ``channels``, the layer's output ``shape`` and the ``previous`` atlas layer (or None)."""

    name: str
    scan: str
    channels: list[int]
    shape: tuple
    previous: str | None = None


@dataclass
class ScanSettings:
    batch_size: int
    k: int
    fraction: float
    crop_px: int
    workers: int = 0
    checkpoint_interval: float = 30.0


@dataclass
class Ranges:
    """What pass 1 found: one record per chunk (in chunk order) and per-layer extremes."""

    records: list[dict]
    max: dict[str, torch.Tensor]
    min: dict[str, torch.Tensor]

    @property
    def starts(self) -> list[int]:
        """Global position of each chunk's first item."""
        out, s = [], 0
        for r in self.records:
            out.append(s)
            s += r["items"]
        return out

    @property
    def readable(self) -> int:
        return sum(r["readable"] for r in self.records)

    @property
    def items(self) -> int:
        return sum(r["items"] for r in self.records)

    @property
    def skipped(self) -> int:
        return sum(r["n_skipped"] + r.get("broken", 0) for r in self.records)

    def targets(self, layer: str, fraction: float) -> dict[str, list[float]]:
        """Fixed slight targets; a channel that never goes above (below) zero gets +-1, which no
        image can qualify for, so its slight column stays empty as it would anyway."""
        mx, mn = self.max[layer], self.min[layer]
        pos = torch.where(mx > 0, mx * fraction, torch.ones_like(mx))
        neg = torch.where(mn < 0, mn * fraction, -torch.ones_like(mn))
        return {"positive": pos.tolist(), "negative": neg.tolist()}


@dataclass
class ChunkReader:
    """Decodes one chunk into model-input batches, recording ids and skipped items."""

    items: Any
    transform: Callable
    batch_size: int
    workers: int = 0
    count: int = 0
    ok: list = field(default_factory=list)  # (local, id) of readable items
    skipped: list = field(default_factory=list)  # [local, id, error]

    def batches(self):
        xs, ids = [], []
        for it, x, id_, err in decode_items(
            self.items, self.transform, self.workers, window=2 * self.batch_size
        ):
            self.count += 1
            pid = plain_id(id_)
            if err is not None:
                self.skipped.append([int(it.local), pid, err])
                continue
            xs.append(x)
            ids.append((int(it.local), pid))
            self.ok.append((int(it.local), pid))
            if len(xs) == self.batch_size:
                yield torch.stack(xs), ids
                xs, ids = [], []
        if xs:
            yield torch.stack(xs), ids

    def digest(self) -> str:
        return digest([list(p) for p in self.ok], [s[:2] for s in self.skipped])


def _model_input(model, x: torch.Tensor) -> torch.Tensor:
    return x.to(model.device, model.dtype)


def _channel_index(spec: LayerSpec, model) -> torch.Tensor | None:
    n = model.layer_info[spec.scan].shape[0]
    return None if spec.channels == list(range(n)) else torch.tensor(spec.channels)


# ---- pass 1 -------------------------------------------------------------------------------------
def ranges_pass(
    model,
    source: Source,
    specs: list[LayerSpec],
    dist,
    layout: Layout,
    settings: ScanSettings,
    transform,
    progress,
    report: dict,
) -> Ranges:
    scans = sorted({s.scan for s in specs})
    index = {s.scan: _channel_index(s, model) for s in specs}
    n = source.num_chunks()
    total = None
    if n is not None:
        hints = [source.chunk_size_hint(i) for i in range(n) if dist.owns(i)]
        total = None if any(h is None for h in hints) else sum(hints)
    records: dict[int, dict] = {}
    local_max: dict[str, torch.Tensor] = {}
    local_min: dict[str, torch.Tensor] = {}

    def fold(rec):
        for layer in scans:
            mx, mn = rec["max"][layer], rec["min"][layer]
            local_max[layer] = mx if layer not in local_max else torch.maximum(local_max[layer], mx)
            local_min[layer] = mn if layer not in local_min else torch.minimum(local_min[layer], mn)

    def reduce_for(layer):
        idx = index[layer]

        def red(t):  # (N, C, h, w) -> per-channel extremes of the batch
            if idx is not None:
                t = t.index_select(1, idx.to(t.device))
            return t.amax(dim=(0, 2, 3)).cpu(), t.amin(dim=(0, 2, 3)).cpu()

        return red

    with progress.stage("ranges", total, "img") as stage:
        for i, items in source.iter_chunks(dist.owns):
            path = layout.ranges_chunk(i)
            if path.exists():
                rec = read_torch(path)
                report["ranges_reused"] += 1
                stage.update(rec["items"])
            else:
                rec = _ranges_chunk(
                    model, i, items, source, scans, index, reduce_for, settings, transform, stage
                )
                write_torch(path, rec)
                report["ranges_scanned"] += 1
            fold(rec)
            records[i] = {k: v for k, v in rec.items() if k not in ("max", "min")}

    gathered = dist.all_gather({"records": records, "max": local_max, "min": local_min})
    all_records: dict[int, dict] = {}
    gmax: dict[str, torch.Tensor] = {}
    gmin: dict[str, torch.Tensor] = {}
    for g in gathered:
        all_records.update(g["records"])
        for layer, t in g["max"].items():
            gmax[layer] = t if layer not in gmax else torch.maximum(gmax[layer], t)
        for layer, t in g["min"].items():
            gmin[layer] = t if layer not in gmin else torch.minimum(gmin[layer], t)
    order = sorted(all_records)
    if order != list(range(len(order))):
        raise RuntimeError(f"range pass lost chunks: have {order[:10]}...")
    return Ranges([all_records[i] for i in order], gmax, gmin)


def _ranges_chunk(
    model, i, items, source, scans, index, reduce_for, settings, transform, stage
) -> dict:
    broken0 = getattr(source, "broken", 0)
    reader = ChunkReader(items, transform, settings.batch_size, settings.workers)
    C = {
        layer: (len(index[layer]) if index[layer] is not None else model.layer_info[layer].shape[0])
        for layer in scans
    }
    mx = {layer: torch.full((C[layer],), float("-inf")) for layer in scans}
    mn = {layer: torch.full((C[layer],), float("inf")) for layer in scans}
    for x, ids in reader.batches():
        out = _capture_reduced(model, scans, _model_input(model, x), reduce_for)
        for layer in scans:
            bmax, bmin = out[layer]
            mx[layer] = torch.maximum(mx[layer], bmax)
            mn[layer] = torch.minimum(mn[layer], bmin)
        stage.update(len(ids))
    if reader.skipped:
        stage.update(len(reader.skipped))
    return {
        "chunk": i,
        "items": reader.count,
        "readable": len(reader.ok),
        "n_skipped": len(reader.skipped),
        "skipped": reader.skipped[:MAX_SKIPPED_LISTED],
        "broken": getattr(source, "broken", 0) - broken0,
        "ids": reader.digest(),
        "max": mx,
        "min": mn,
    }


def _capture_reduced(model, scans, x, reduce_for) -> dict:
    # one forward for every layer; each hook reduces its own map right away
    reducers = {layer: reduce_for(layer) for layer in scans}
    return capture(model, scans, x, reduce=lambda name, t: reducers[name](t))


# ---- pass 2 -------------------------------------------------------------------------------------
def new_trackers(model, specs: list[LayerSpec], ranges: Ranges, settings: ScanSettings) -> dict:
    return {
        s.name: ActivationSpectrum(
            model,
            s.scan,
            s.channels,
            k=settings.k,
            targets=ranges.targets(s.scan, settings.fraction),
            crop_px=settings.crop_px,
        )
        for s in specs
    }


def _load(model, specs, ranges, settings, states: dict) -> dict:
    trackers = new_trackers(model, specs, ranges, settings)
    for name, t in trackers.items():
        t.load_state_dict(states[name])
    return trackers


def examples_pass(
    model,
    source: Source,
    specs: list[LayerSpec],
    ranges: Ranges,
    dist,
    layout: Layout,
    settings: ScanSettings,
    transform,
    progress,
    report: dict,
) -> dict:
    """The final trackers, ``{atlas layer: ActivationSpectrum}``, the same on every rank."""
    n = len(ranges.records)
    block = dist.block(n)
    a, b = block.start, block.stop
    starts = ranges.starts
    # The plan: reuse segments on disk (from this block's earlier runs, or from a run with
    # another split), scan the gaps. A segment is taken only where it starts, so the merge
    # order stays the stream order.
    segments = layout.segments()
    steps: list[tuple] = []
    p = a
    while p < b:
        ends = [e for e in segments.get(p, []) if e <= b]
        if ends:
            steps.append(("segment", p, max(ends)))
            p = max(ends)
        else:
            steps.append(("scan", p))
            p += 1
    to_scan = {s[1] for s in steps if s[0] == "scan"}
    total = sum(ranges.records[i]["items"] for i in to_scan)

    running: dict | None = None
    consumed: list = []  # segment files merged into `running`, removed once covered
    written = None  # our own latest checkpoint
    last_checkpoint = time.monotonic()

    def checkpoint(end: int) -> None:
        nonlocal written, last_checkpoint, consumed
        path = layout.segment(a, end)
        write_torch(
            path,
            {
                "start": a,
                "end": end,
                "states": {name: t.state_dict() for name, t in running.items()},
            },
        )
        for old in consumed + ([written] if written is not None else []):
            if old != path:
                old.unlink(missing_ok=True)
        consumed, written = [], path
        last_checkpoint = time.monotonic()

    chunks = source.iter_chunks(lambda i: i in to_scan)
    with progress.stage("examples", total, "img") as stage:
        for step_no, step in enumerate(steps):
            if step[0] == "segment":
                _, s0, s1 = step
                path = layout.segment(s0, s1)
                seg = read_torch(path)
                loaded = _load(model, specs, ranges, settings, seg["states"])
                if running is None:
                    running = loaded
                else:
                    for name, t in running.items():
                        t.merge(loaded[name])
                consumed.append(path)
                report["examples_reused"] += s1 - s0
                continue
            i = step[1]
            got, items = next(chunks)
            if got != i:
                raise RuntimeError(f"data source gave chunk {got} where {i} was expected")
            if running is None:
                running = new_trackers(model, specs, ranges, settings)
            reader = ChunkReader(items, transform, settings.batch_size, settings.workers)
            base = starts[i]
            for x, ids in reader.batches():
                x = _model_input(model, x)
                gids = [(base + local, pid) for local, pid in ids]
                for t in running.values():
                    t.update(x, ids=gids)
                stage.update(len(ids))
            if reader.skipped:
                stage.update(len(reader.skipped))
            expected = ranges.records[i]
            if reader.digest() != expected["ids"] or reader.count != expected["items"]:
                raise DataChangedError(
                    f"the data changed since the range pass: chunk {i} now holds {reader.count} "
                    f"items (ids hash {reader.digest()[:12]}), then {expected['items']} "
                    f"({expected['ids'][:12]}). Keep the data fixed during a build, or start "
                    "over with resume=False (CLI: --no-resume)"
                )
            report["examples_scanned"] += 1
            last = step_no == len(steps) - 1
            if last or time.monotonic() - last_checkpoint >= settings.checkpoint_interval:
                checkpoint(i + 1)
        if running is None:
            running = new_trackers(model, specs, ranges, settings)
        elif consumed and len(steps) > 1:
            checkpoint(b)  # several segments merged: keep one covering the whole block

    # Merge the ranks' blocks in rank order = stream order; every rank does the same merge,
    # so all hold the final trackers (the connections, split across ranks, need them).
    final = {}
    for spec in specs:
        states = dist.all_gather(running[spec.name].state_dict())
        merged = None
        for state in states:
            t = new_trackers(model, [spec], ranges, settings)[spec.name].load_state_dict(state)
            merged = t if merged is None else merged.merge(t)
        final[spec.name] = merged
    return final
