"""The activation-spectrum scan against the bare forward pass: time overhead and memory.

There is no peer library for streaming dataset examples, so the comparison is against the
floor: the model's inference forward pass over the same images in the same batches (the full
pass, and the pass cut at the scanned layer). Memory: peak memory of scans of 1,000 and 10,000
images, generated batch by batch so that the stream itself holds nothing.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from . import floors
from .agreement import Agreement, compare
from .common import Settings, engine
from .inputs import random_images
from .profiling import top_ops
from .report import Row, Target, fmt_ratio, fmt_time
from .timing import PeakMemory, time_interleaved

MB = 2**20


def scan_agreement(tracker, model, layer: str, channels, batches) -> Agreement:
    """The tracker's max and min columns against a brute-force top-k over the bare forward's
    activations of the same images: values to float tolerance, and the same images."""
    acts = torch.cat([floors.forward_until(model, layer, b) for b in batches])[:, channels]
    flat = acts.flatten(2)
    ours_v, ref_v, same_ids = [], [], True
    for i, c in enumerate(channels):
        ex = tracker.examples(c)
        for col, values, largest in (
            ("max", flat[:, i].amax(1), True),
            ("min", flat[:, i].amin(1), False),
        ):
            k = len(ex[col])
            top = values.topk(min(tracker.k, len(values)), largest=largest)
            ref_v.append(top.values.cpu().numpy()[:k])
            ours_v.append(np.array([e.value for e in ex[col]]))
            same_ids &= [e.image_id for e in ex[col]] == top.indices.cpu().tolist()[
                :k
            ] and k == len(top.values)
    a = compare(
        np.concatenate(ours_v),
        np.concatenate(ref_v),
        rtol=1e-4,
        atol=1e-5,
        how="max/min columns vs brute-force top-k" + ("" if same_ids else ", DIFFERENT IMAGES"),
    )
    a.ok = a.ok and same_ids
    return a


def overhead_row(
    model, layer: str, channels, k: int, n_images: int, batch: int, size: int, s: Settings
) -> Row:
    row = Row(
        "Spectrum scan overhead",
        model.name,
        f"{n_images} images {size}px, batch {batch} @ {layer}, {len(channels)} ch, k={k}",
    )
    Spectrum = engine("ActivationSpectrum")
    if Spectrum is None:
        row.note = "cw.ActivationSpectrum not available yet"
        return row
    x = random_images(model, n_images, size)
    batches = list(x.split(batch))
    fresh = Spectrum(model, layer, channels, k=k)
    for b in batches:
        fresh.update(b)
    row.agreement = scan_agreement(fresh, model, layer, channels, batches)
    t0 = time.perf_counter()
    tracker = Spectrum(model, layer, channels, k=k)
    setup = time.perf_counter() - t0
    if s.quick:
        return row
    # One tracker for all rounds: after the first round its columns are full, which is the
    # steady state of a long scan.
    fns = {
        "ours": lambda: [tracker.update(b) for b in batches],
        "fwd": lambda: [floors.forward(model, b) for b in batches],
        "fwd to layer": lambda: [floors.forward_until(model, layer, b) for b in batches],
    }
    t = time_interleaved(
        fns, device=s.device, min_rounds=s.min_rounds, max_rounds=s.max_rounds, budget_s=s.budget_s
    )
    row.ours, row.fwd, row.ours_fwd, row.rounds = (
        t.median("ours"),
        t.median("fwd"),
        t.ratio("ours", "fwd"),
        t.rounds,
    )
    row.targets = [Target("ours/fwd <= 1.15", row.ours_fwd, 1.15)]
    row.note = (
        f"fwd to layer {fmt_time(t.median('fwd to layer'))}, ours/that "
        f"{fmt_ratio(t.ratio('ours', 'fwd to layer'))}; tracker setup {fmt_time(setup)}"
    )
    if s.profile:
        print(f"\n--- profile: ours, {row.comparison} {row.model} {row.setting}")
        print(top_ops(fns["ours"], s.device))
    return row


def scan_peak(
    model, layer: str, channels, k: int, n_images: int, batch: int, size: int, device: str
) -> tuple[float, float]:
    """(peak bytes above the start, seconds) of one scan over ``n_images`` fresh images."""
    # The tracker is made inside the block: its fixed-size state is part of the scan's cost.
    with PeakMemory(device) as mem:
        t0 = time.perf_counter()
        tracker = engine("ActivationSpectrum")(model, layer, channels, k=k)
        for i, start in enumerate(range(0, n_images, batch)):
            tracker.update(random_images(model, min(batch, n_images - start), size, seed=i))
        seconds = time.perf_counter() - t0
    assert tracker.images_seen == n_images
    return mem.peak_bytes, seconds


def memory_row(
    model, layer: str, channels, k: int, counts: tuple[int, int], batch: int, size: int, s: Settings
) -> Row:
    small, large = counts
    row = Row(
        "Spectrum scan memory",
        model.name,
        f"{small:,} vs {large:,} images {size}px, batch {batch} @ {layer}, {len(channels)} ch",
    )
    if engine("ActivationSpectrum") is None:
        row.note = "cw.ActivationSpectrum not available yet"
        return row
    p_small, t_small = scan_peak(model, layer, channels, k, small, batch, size, s.device)
    p_large, t_large = scan_peak(model, layer, channels, k, large, batch, size, s.device)
    # "Flat": the larger scan may not need more than the smaller one plus a margin for the
    # sampling noise of RSS (allocator caching, Python objects).
    margin = max(0.1 * p_small, 32 * MB)
    row.targets = [
        Target(
            f"peak({large:,}) - peak({small:,}) <= {margin / MB:.0f} MB, in MB",
            (p_large - p_small) / MB,
            margin / MB,
        )
    ]
    row.ours = t_large
    row.note = (
        f"peak +{p_small / MB:.0f} MB at {small:,} ({fmt_time(t_small)}), "
        f"+{p_large / MB:.0f} MB at {large:,} ({fmt_time(t_large)})"
    )
    return row
