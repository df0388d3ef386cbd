"""The activation grid of a 7 x 7 layer against one 49-image ``visualize`` call of the same
steps: what the grid costs beyond the renders themselves.

Both sides render the same number of steps with the same settings (size, the image fed to
the model at its own size, Fourier parameterization, standard transforms). The grid renders
49 cells (one direction objective per position) plus its NMF groups (a second batch, stepped
with the first), and before that runs a forward pass on the photo and the NMF; ``visualize``
renders 49 channel objectives of the same layer, which cost the same per image (the forward
pass stops at that layer either way). Target (the issue): grid / visualize < 2.

Timing: ``benchmarks.timing.time_interleaved``, the sides in a freshly shuffled order every
round; the ratio is the median of per-round ratios.

    python -m benchmarks.activation_grid [--steps 16] [--size 64] [--groups 6] [--rounds 3]
        [--threads 1] [--device cpu] [--model efficientnet_lite0 --layer _act_head]
"""

from __future__ import annotations

import argparse
import json
import platform

import torch

import cnnwidgets as cw

from .timing import time_interleaved

DEFAULT_MODEL = "efficientnet_lite0"
DEFAULT_LAYER = "_act_head"  # the last spatial layer: 7 x 7 x 1280 at 224 px, after ReLU6


def run(
    model_name: str = DEFAULT_MODEL,
    layer: str = DEFAULT_LAYER,
    steps: int = 16,
    size: int = 64,
    groups: int = 6,
    rounds: int = 3,
    device: str = "cpu",
    image: str = "cat",
) -> dict:
    model = cw.load_model(model_name, device=device)
    shape = model.layer_info[layer].shape
    cells = shape[1] * shape[2]
    if cells > 64:
        raise SystemExit(f"{layer} has {shape[1]} x {shape[2]} positions; pick a 7 x 7 layer")
    photo = cw.load_image(image)
    settings = dict(steps=steps, size=size, input_size=size, seed=0)
    objectives = [f"{layer}:{c}" for c in range(cells)]
    results = {}

    def grid():
        results["grid"] = cw.activation_grid(model, photo, layer, groups, **settings)

    def grid_cells_only():
        cw.activation_grid(model, photo, layer, 0, **settings)

    def visualize():
        cw.visualize(model, objectives, **settings)

    t = time_interleaved(
        {"grid": grid, "grid_without_groups": grid_cells_only, "visualize": visualize},
        device=device,
        warmup=1,
        min_rounds=rounds,
        max_rounds=rounds,
        budget_s=0,
    )
    g = results["grid"]
    return {
        "model": model_name,
        "layer": layer,
        "layer_shape": list(shape),
        "cells": cells,
        "groups": len(g.groups),
        "steps": steps,
        "size": size,
        "input_size": size,
        "device": device,
        "threads": torch.get_num_threads(),
        "rounds": t.rounds,
        "grid_s": t.median("grid"),
        "grid_without_groups_s": t.median("grid_without_groups"),
        "visualize_s": t.median("visualize"),
        "ratio_grid_to_visualize": t.ratio("grid", "visualize"),
        "ratio_cells_only_to_visualize": t.ratio("grid_without_groups", "visualize"),
        "images_ratio": (cells + len(g.groups)) / cells,
        "samples": {k: v.samples for k, v in t.by_name.items()},
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--layer", default=DEFAULT_LAYER)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--groups", type=int, default=6)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    out = run(a.model, a.layer, a.steps, a.size, a.groups, a.rounds, a.device)
    print(json.dumps(out, indent=2))
    ok = out["ratio_grid_to_visualize"] < 2
    print(f"grid / visualize = {out['ratio_grid_to_visualize']:.3f} (target < 2: {ok})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
