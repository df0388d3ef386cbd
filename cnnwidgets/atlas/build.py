"""``build_atlas``: every channel of some layers - feature visualizations, dataset examples and
connections - computed once and stored on disk (a Microscope for any model).

The build runs in phases; each phase's finished work is on disk before the next starts, so
a killed build resumes where it stopped (run the same call or command again):

1. check the request (layers, channels, data) before writing anything;
2. range pass, then examples pass over the data (see :mod:`.scan`);
3. per channel, the examples (sprite + JSON) and each layer's merged tracker state;
4. per channel, the connections to the previous atlas layer (:mod:`.connections`);
5. per channel, the negative and positive feature visualizations (:mod:`.renders`);
6. rank 0 writes ``atlas.json`` - the only sign of a complete atlas - and removes build/.

Under ``torchrun`` (see :mod:`.shard`) data and channels are split across ranks; the atlas
is the same as one process builds, to the byte for pictures and to the bit for values.
"""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import datasets
from ..engines.spectrum import pre_activation_layer
from ..models import Model, load_model
from . import connections as conn
from .errors import EmptyDataError
from .examples import write_examples
from .progress import Progress
from .renders import render_unit, unit_done, write_unit
from .scan import LayerSpec, ScanSettings, examples_pass, ranges_pass
from .shard import Dist
from .sources import DEFAULT_CHUNK, Source, as_source
from .store import (
    FORMAT,
    Layout,
    canonical_spectrum_state,
    compare_plans,
    digest,
    model_fingerprint,
    read_json,
    remove_atlas_files,
    remove_temporaries,
    write_bytes,
    write_json,
    write_torch,
)


def _as_model(model):
    if isinstance(model, Model):
        return model
    if isinstance(model, torch.nn.Module):
        return load_model(model)
    if isinstance(model, str):
        # Zoo models with random weights must come out the same in every rank and in a
        # resumed run; the caller's random state is left alone.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return load_model(model)
    raise TypeError(
        f"model must be a Model, a torch.nn.Module or a zoo name, not a {type(model).__name__}"
    )


def parse_channels(spec: Any) -> list[int] | None:
    """None, an int, a range, a list, or text such as ``"0-63"`` / ``"0-7,12,20-23"``."""
    if spec is None:
        return None
    if isinstance(spec, (int, np.integer)):
        return [int(spec)]
    if isinstance(spec, str):
        out: list[int] = []
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            try:
                if sep:
                    a, b = int(lo), int(hi)
                    if b < a:
                        raise ValueError
                    out.extend(range(a, b + 1))
                else:
                    out.append(int(part))
            except ValueError:
                raise ValueError(
                    f"cannot read channels {spec!r}: write them as 0-63 or 0-7,12,20-23"
                ) from None
        return out
    return [int(c) for c in spec]


def _layer_specs(m, layers: Sequence[str] | str, channels) -> list[LayerSpec]:
    names = [s.strip() for s in layers.split(",")] if isinstance(layers, str) else list(layers)
    names = [n for n in names if n]
    if not names:
        raise ValueError(
            "no layers given: name at least one layer, e.g. " + ", ".join(m.spatial_layers[:4])
        )
    if len(set(names)) != len(names):
        raise ValueError(f"layers repeat: {names}")
    for n in names:
        m.check_layer(n)  # LayerNotFoundError lists the valid ones
        shape = tuple(m.layer_info[n].shape)
        if len(shape) != 3:
            raise ValueError(
                f"layer {n!r} has output shape {shape}; an atlas needs (C, H, W) "
                f"maps. Spatial layers: {', '.join(m.spatial_layers)}"
            )
    # execution order: the "previous" layer of each is the one before it in the network
    names.sort(key=lambda n: m.layer_info[n].order)
    specs, prev = [], None
    for n in names:
        shape = tuple(m.layer_info[n].shape)
        try:
            scan = pre_activation_layer(m, n)
        except ValueError:  # its input is computed inside a parent's forward
            scan = n
        if tuple(m.layer_info[scan].shape) != shape:
            scan = n  # the activation's input has another shape: scan the layer
        wanted = channels.get(n) if isinstance(channels, dict) else channels
        chans = parse_channels(wanted)
        chans = list(range(shape[0])) if chans is None else chans
        bad = [c for c in chans if not 0 <= c < shape[0]]
        if bad:
            raise ValueError(
                f"layer {n!r} has {shape[0]} channels (0..{shape[0] - 1}); "
                f"channel(s) {', '.join(map(str, bad[:8]))}"
                + (" ..." if len(bad) > 8 else "")
                + " are out of range"
            )
        if not chans:
            raise ValueError(f"no channels for layer {n!r}")
        if len(set(chans)) != len(chans):
            raise ValueError(f"channels of layer {n!r} repeat")
        specs.append(LayerSpec(n, scan, chans, shape, prev))
        prev = n
    return specs


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cnnwidgets")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _versions() -> dict:
    import torchvision

    return {
        "cnnwidgets": _package_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def build_atlas(
    model,
    out_dir: str | os.PathLike,
    layers: Sequence[str] | str,
    channels: Any = None,
    data: Any = None,
    *,
    k: int = 9,
    steps: int = 256,
    size: int = 128,
    negative: bool = True,
    batch_size: int = 32,
    resume: bool = True,
    progress: bool | str | Callable = True,
    seed: int = 0,
    connections: int | None = None,
    fraction: float = 0.1,
    crop_px: int = 64,
    chunk_size: int = DEFAULT_CHUNK,
    workers: int = 0,
    checkpoint_interval: float = 30.0,
):
    """Build an atlas of ``layers`` of ``model`` into ``out_dir`` and return it (see
    :func:`load_atlas`).

    For every channel: the positive and negative feature visualizations (``steps`` steps at
    ``size`` px), the dataset examples of ``ActivationSpectrum`` over ``data`` (``k`` per
    column; the negative side from the pre-activation layer), and its ``connections``
    (default ``k``) strongest inputs from the previous atlas layer.

    ``model``: a ``cw.Model``, an ``nn.Module`` or a zoo name. ``layers``: names (or one
    comma-separated string). ``channels``: None (all), a list / range / ``"0-63"`` for
    every layer, or ``{layer: channels}``. ``data``: a folder of images, tar shards
    (WebDataset), ``"imagenette"``, a ``Dataset``, a list or re-iterable of ``(image, id)``
    (see :mod:`.sources`). ``negative=False`` skips the negative renders.
    ``resume``: pick up a killed build in ``out_dir`` (an existing atlas of something else
    there is an error); False starts over, deleting an atlas in ``out_dir``.
    ``progress``: True (tqdm bars), False, or a callable taking a dict per step.
    ``chunk_size``: images per data chunk (the unit of sharding and checkpoints);
    ``workers``: threads decoding images; ``checkpoint_interval``: seconds between
    checkpoints of the examples pass; ``seed``: base of every render's seed.

    Returns the :class:`~.load.Atlas`; its ``report`` counts what this run did and reused
    (chunks scanned, renders, connections), its ``index`` is ``atlas.json``.
    Under ``torchrun`` every rank calls this with the same arguments; see :mod:`.shard`.
    """
    m = _as_model(model)
    dist = Dist.from_env(m.device)
    try:
        if dist.distributed and m.device.type == "cuda":
            m.to(f"cuda:{dist.local_rank}")
        return _build(
            m,
            dist,
            Path(out_dir).expanduser(),
            layers,
            channels,
            data,
            k=k,
            steps=steps,
            size=size,
            negative=negative,
            batch_size=batch_size,
            resume=resume,
            progress=progress,
            seed=seed,
            n_conn=k if connections is None else connections,
            fraction=fraction,
            crop_px=crop_px,
            chunk_size=chunk_size,
            workers=workers,
            checkpoint_interval=checkpoint_interval,
        )
    finally:
        dist.close()


def _check_settings(k, steps, size, batch_size, n_conn, fraction, crop_px, chunk_size):
    checks = [
        (isinstance(k, (int, np.integer)) and k >= 1, f"k must be a positive integer, got {k!r}"),
        (int(steps) >= 0, f"steps must be >= 0, got {steps!r}"),
        (int(size) >= 8, f"size must be at least 8 pixels, got {size!r}"),
        (int(batch_size) >= 1, f"batch_size must be positive, got {batch_size!r}"),
        (int(n_conn) >= 0, f"connections must be >= 0, got {n_conn!r}"),
        (0 < fraction < 1, f"fraction must lie in (0, 1), got {fraction!r}"),
        (int(crop_px) >= 4, f"crop_px must be at least 4, got {crop_px!r}"),
        (int(chunk_size) >= 1, f"chunk_size must be positive, got {chunk_size!r}"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ValueError(msg)


def _build(
    m,
    dist: Dist,
    root: Path,
    layers,
    channels,
    data,
    *,
    k,
    steps,
    size,
    negative,
    batch_size,
    resume,
    progress,
    seed,
    n_conn,
    fraction,
    crop_px,
    chunk_size,
    workers,
    checkpoint_interval,
):
    from .load import load_atlas

    t_start = time.perf_counter()
    # ---- 1. everything checked before the first write --------------------------------------
    _check_settings(k, steps, size, batch_size, n_conn, fraction, crop_px, chunk_size)
    if m.in_channels != 3:
        raise ValueError(
            f"feature visualization renders RGB images; this model takes "
            f"{m.in_channels} input channels"
        )
    specs = _layer_specs(m, layers, channels)
    if data is None:
        raise ValueError(
            "data= is required: a folder of images, tar shards, 'imagenette', a "
            "Dataset, or a list of (image, id) pairs"
        )
    source: Source = as_source(data, chunk_size)
    source.check_not_empty()
    settings = {
        "k": int(k),
        "steps": int(steps),
        "size": int(size),
        "negative": bool(negative),
        "seed": int(seed),
        "connections": int(n_conn),
        "fraction": float(fraction),
        "crop_px": int(crop_px),
        "batch_size": int(batch_size),
        "chunk_size": int(chunk_size),
    }
    plan = {
        "format": FORMAT,
        "model": {
            "name": m.name,
            "class": f"{type(m.module).__module__}.{type(m.module).__qualname__}",
            "fingerprint": model_fingerprint(m),
            "input_size": list(m.input_size),
            "mean": list(m.mean),
            "std": list(m.std),
        },
        "layers": [
            {
                "name": s.name,
                "scanned": s.scan,
                "channels": s.channels,
                "shape": list(s.shape),
                "previous": s.previous,
            }
            for s in specs
        ],
        "settings": settings,
        "data": {
            "kind": source.kind,
            "description": source.description,
            "fingerprint": source.fingerprint(),
        },
    }
    dist.check_same("model weights", plan["model"]["fingerprint"][:16])
    dist.check_same("data", plan["data"]["fingerprint"][:16])
    layout = Layout(root)

    # ---- the directory: a new build, a resumed one, or another atlas ---------------------------
    existing = None
    if layout.index.exists():
        existing = read_json(layout.index).get("plan")
    elif layout.plan.exists():
        existing = read_json(layout.plan)
    if existing is not None and resume:
        compare_plans(existing, plan, root)
        if layout.index.exists():  # complete already: nothing to do
            dist.barrier()
            return load_atlas(root)
    created_root = not root.exists() or (root.is_dir() and not any(root.iterdir()))
    if dist.main:
        if existing is not None and not resume:
            remove_atlas_files(layout)
        remove_temporaries(root)
        write_json(layout.plan, plan)
    dist.barrier()

    report = {
        "ranges_scanned": 0,
        "ranges_reused": 0,
        "examples_scanned": 0,
        "examples_reused": 0,
        "examples_written": 0,
        "connections_computed": 0,
        "connections_reused": 0,
        "renders": 0,
        "renders_reused": 0,
    }
    prog = Progress(progress, dist.rank, dist.world)
    transform = datasets.model_transform(m)
    scan_settings = ScanSettings(
        batch_size=int(batch_size),
        k=int(k),
        fraction=float(fraction),
        crop_px=int(crop_px),
        workers=int(workers),
        checkpoint_interval=float(checkpoint_interval),
    )
    t0 = time.perf_counter()
    try:
        ranges = ranges_pass(m, source, specs, dist, layout, scan_settings, transform, prog, report)
        if ranges.readable == 0:
            raise EmptyDataError(
                f"the data source ({source.description}) holds no readable "
                f"image: {ranges.skipped} item(s) skipped" + _skip_hint(ranges.records)
            )
    except EmptyDataError:
        if dist.main:  # nothing worth resuming: leave the directory as it was found
            if created_root:
                shutil.rmtree(root, ignore_errors=True)
            else:
                remove_atlas_files(layout)
        raise
    trackers = examples_pass(
        m, source, specs, ranges, dist, layout, scan_settings, transform, prog, report
    )
    t_scan = time.perf_counter() - t0

    # ---- 3. examples per channel, tracker state per layer ------------------------------------
    t0 = time.perf_counter()
    units = [(s, c) for s in specs for c in s.channels]
    for u, (spec, c) in enumerate(units):
        if not dist.owns(u):
            continue
        if (layout.channel_dir(spec.name, c) / "examples.json").exists():
            continue
        t = trackers[spec.name]
        write_examples(layout, spec.name, c, t.examples(c), t.k, t.crop_px)
        report["examples_written"] += 1
    if dist.main:
        for spec in specs:
            if not layout.spectrum(spec.name).exists():
                write_torch(
                    layout.spectrum(spec.name),
                    canonical_spectrum_state(trackers[spec.name].state_dict()),
                )
    t_examples = time.perf_counter() - t0

    # ---- 4. connections -------------------------------------------------------------------------
    t0 = time.perf_counter()
    _connections(m, specs, trackers, source, ranges, dist, layout, transform, n_conn, prog, report)
    t_conn = time.perf_counter() - t0

    # ---- 5. renders -----------------------------------------------------------------------------
    t0 = time.perf_counter()
    mine = [(spec, c) for u, (spec, c) in enumerate(units) if dist.owns(u)]
    todo = [(spec, c) for spec, c in mine if not unit_done(layout, spec.name, c, negative)]
    report["renders_reused"] = len(mine) - len(todo)
    with prog.stage("renders", len(todo), "channel") as stage:
        for spec, c in todo:
            neg, pos = render_unit(
                m, spec.name, spec.scan, c, steps=steps, size=size, negative=negative, seed=seed
            )
            write_unit(layout, spec.name, c, neg, pos)
            report["renders"] += 1
            stage.update(1, layer=spec.name, channel=c)
    t_render = time.perf_counter() - t0

    # ---- 6. the index ---------------------------------------------------------------------------
    timings = {
        "scan_s": t_scan,
        "examples_s": t_examples,
        "connections_s": t_conn,
        "renders_s": t_render,
    }
    gathered = dist.all_gather({"report": report, "timings": timings})
    if dist.main:
        total = {key: sum(g["report"][key] for g in gathered) for key in report}
        skipped_list = [
            {"index": ranges.starts[r["chunk"]] + s[0], "id": s[1], "error": s[2]}
            for r in ranges.records
            for s in r["skipped"]
        ][:50]
        index = {
            "format": FORMAT,
            "complete": True,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "model": plan["model"],
            "layers": plan["layers"],
            "settings": settings,
            "data": {
                **plan["data"],
                "fingerprint": digest(
                    plan["data"]["fingerprint"], [r["ids"] for r in ranges.records]
                ),
                "items": ranges.items,
                "images": ranges.readable,
                "skipped": ranges.skipped,
                "skipped_items": skipped_list,
                "chunks": len(ranges.records),
            },
            "crop_px": {s.name: int(trackers[s.name].crop_px) for s in specs},
            "versions": _versions(),
            "build": {
                "world_size": dist.world,
                "seconds": time.perf_counter() - t_start,
                "phases": {key: max(g["timings"][key] for g in gathered) for key in timings},
                "work": total,
            },
            "plan": plan,
        }
        write_json(layout.index, index)
        shutil.rmtree(layout.build, ignore_errors=True)
    dist.barrier()
    atlas = load_atlas(root)
    atlas.report = {
        **report,
        **{f"{key}": v for key, v in timings.items()},
        "skipped": ranges.skipped,
        "images": ranges.readable,
    }
    if ranges.skipped and dist.main and progress is not False:
        # The build's closing report goes where progress bars go, not into stdout.
        sys.stderr.write(
            f"atlas: skipped {ranges.skipped} unreadable item(s) of {ranges.items}; "
            "see atlas.json data.skipped_items\n"
        )
        sys.stderr.flush()
    return atlas


def _skip_hint(records) -> str:
    for r in records:
        if r["skipped"]:
            local, id_, err = r["skipped"][0]
            return f" (e.g. {id_!r}: {err})"
    return ""


def _connections(
    m, specs, trackers, source, ranges, dist, layout, transform, n_conn, prog, report
) -> None:
    units = [(s, c) for s in specs if s.previous is not None for c in s.channels]
    mine = [(s, c) for u, (s, c) in enumerate(units) if dist.owns(u)]
    todo = [
        (s, c) for s, c in mine if not (layout.channel_dir(s.name, c) / "connections.json").exists()
    ]
    report["connections_reused"] = len(mine) - len(todo)
    if n_conn == 0 or not todo:
        for s, c in todo:
            write_json(
                layout.channel_dir(s.name, c) / "connections.json",
                {"previous": s.previous, "inputs": []},
                durable=False,
            )
        return
    chans_of = {s.name: s.channels for s in specs}
    wanted = {
        (s.name, c): [(int(e.image_id[0]), e.position) for e in trackers[s.name].examples(c)["max"]]
        for s, c in todo
    }
    load = _input_loader(
        m, source, ranges, layout, transform, sorted({g for ex in wanted.values() for g, _ in ex})
    )
    with prog.stage("connections", len(todo), "channel") as stage:
        for s, c in todo:
            x, positions = conn.example_inputs(load, wanted[(s.name, c)])
            inputs = (
                []
                if x is None
                else conn.channel_connections(
                    m,
                    s.previous,
                    chans_of[s.previous],
                    s.scan,
                    c,
                    x.to(m.device, m.dtype),
                    positions,
                    n_conn,
                )
            )
            write_json(
                layout.channel_dir(s.name, c) / "connections.json",
                {"previous": s.previous, "inputs": inputs},
                durable=False,
            )
            report["connections_computed"] += 1
            stage.update(1)


def _input_loader(m, source: Source, ranges, layout: Layout, transform, needed: list[int]):
    """``load(indices) -> {index: model input}`` for the example images. A source with
    random access is read directly; a stream is read once, for the chunks that hold the
    needed images, into a cache of model-input pixels (lossless PNG, so the model later sees
    exactly what it saw in the scan)."""
    if source.random_access:

        def load(indices):
            xs = {g: _safe(transform, img) for g, img in source.load_indices(indices).items()}
            return {g: x for g, x in xs.items() if x is not None}

        return load
    mean = torch.tensor(m.mean).view(-1, 1, 1)
    std = torch.tensor(m.std).view(-1, 1, 1)
    missing = [g for g in needed if not layout.cached_image(g).exists()]
    if missing:
        from ..render import to_png

        for g, img in source.load_indices(missing, ranges.starts).items():
            x = _safe(transform, img)
            if x is None:
                continue
            # x = (u8 / 255 - mean) / std exactly; invert to the uint8 pixels
            u8 = ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)
            write_bytes(layout.cached_image(g), to_png(u8.permute(1, 2, 0).numpy()))

    def load(indices):
        from PIL import Image

        out = {}
        for g in indices:
            p = layout.cached_image(g)
            if p.exists():
                with Image.open(p) as im:
                    u8 = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)
                out[g] = (u8.float().div_(255) - mean) / std
        return out

    return load


def _safe(transform, img):
    try:
        return transform(img)
    except Exception:  # noqa: BLE001 - skipped in the scan too
        return None
