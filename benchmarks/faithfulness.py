"""Faithfulness of a map: ours (``cw.faithfulness``) against pytorch-grad-cam's perturbation
metrics on the same model, the same input tensor and the same map.

pytorch-grad-cam (``pytorch_grad_cam.metrics``) has no deletion or insertion curve; it has the
pieces one builds them from: ``PerturbationConfidenceMetric`` with ``RemoveMostRelevantFirst``
and ``RemoveLeastRelevantFirst`` (a percentile threshold of the map and an imputer), one call
and one batch-1 forward pass per curve point, and ``CamMultImageConfidenceChange`` (behind its
``DropInConfidence`` / ``IncreaseInConfidence``) for average drop. Two rows:

1. "deletion + insertion + average drop": those pieces with our blurred baseline as the
   imputer, 21 points per curve (steps 20) and the confidence change: 2 x 21 + 2 = 44 batch-1
   forwards, against our 41 images in memory-bounded batches. The same numbers up to the
   threshold convention (a percentile keeps one pixel more or fewer than our
   ``floor(k * H * W / steps)``); agreement is checked on the curves and the average drop.
   The map is the Grad-CAM map with a 1e-4 seeded jitter that breaks its ties (its zero
   plateau): a percentile threshold cannot split a tie, our order can, so only a tie-free map
   makes the two comparable. Timing does not depend on the values.
2. "ROAD (MoRF + LeRF)": ``ROADCombined`` at its 9 default percentiles, the ready-made
   perturbation metric a pytorch-grad-cam user runs to score a map (Rong et al. 2022). It
   imputes removed pixels by solving a sparse linear system (noisy linear imputation), not by
   a blur, so its number differs from ours by design: timed, not compared.

Floors: ``fwd`` is the bare inference forward pass of our 41 images in the same batches.

    python -m benchmarks.faithfulness [--images cat,coffee] [--steps 20] [--budget 30] [--no-road]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

import cnnwidgets as cw
from cnnwidgets.core.inputs import auto_batch_size, input_layout
from cnnwidgets.engines.faithfulness import _chunks, gaussian_blur

from . import floors
from .agreement import Agreement, compare
from .common import Logits, Settings, load, peer_model
from .report import Row, Target, markdown, summary
from .runner import machine
from .timing import time_interleaved

PEER = "pytorch-grad-cam"


class BlurImputer:
    """pytorch-grad-cam's imputer interface ``(image, keep) -> image``, filling with our
    blurred baseline (it ships no blur imputer)."""

    def __init__(self, blurred: torch.Tensor):
        self.blurred = blurred

    def __call__(self, image: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return image * keep + self.blurred * (1 - keep)


def tie_free(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """The map with a seeded 1e-4 jitter, still in [0, 1]: no two pixels equal."""
    u = np.random.default_rng(seed).random(values.shape)
    return (values * (1 - 1e-4) + 1e-4 * u).astype(np.float32)


def peer_scores(model, x: torch.Tensor, cam: np.ndarray, target: int, steps: int, sigma: float):
    """Deletion and insertion curves and the confidence change, from pytorch-grad-cam's pieces:
    one ``PerturbationConfidenceMetric`` call per curve point."""
    from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
    from pytorch_grad_cam.metrics.perturbation_confidence import (
        PerturbationConfidenceMetric,
        RemoveLeastRelevantFirst,
        RemoveMostRelevantFirst,
    )
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    net = Logits(model)
    targets = [ClassifierOutputSoftmaxTarget(target)]
    cams = cam[None]
    imputer = BlurImputer(gaussian_blur(x, sigma)[0].cpu())
    fractions = np.arange(steps + 1) / steps
    # deletion at f: keep the (1 - f) least relevant; insertion at f: keep the f most relevant
    deletion = [
        PerturbationConfidenceMetric(RemoveMostRelevantFirst(100 * (1 - f), imputer))(
            x, cams, targets, net, return_diff=False
        )[0]
        for f in fractions
    ]
    insertion = [
        PerturbationConfidenceMetric(RemoveLeastRelevantFirst(100 * f, imputer))(
            x, cams, targets, net, return_diff=False
        )[0]
        for f in fractions
    ]
    change = CamMultImageConfidenceChange()(x, cams, targets, net)[0]  # p(map * x) - p(x)
    return np.array(deletion), np.array(insertion), float(change)


def peer_road(model, x: torch.Tensor, cam: np.ndarray, target: int) -> float:
    from pytorch_grad_cam.metrics.road import ROADCombined
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    targets = [ClassifierOutputSoftmaxTarget(target)]
    return float(ROADCombined()(x, cam[None], targets, Logits(model))[0])


def agreement(ours, peer_deletion, peer_insertion, peer_change) -> Agreement:
    curves = compare(
        np.concatenate([ours.deletion, ours.insertion]),
        np.concatenate([peer_deletion, peer_insertion]),
        rtol=0.02,
        atol=1e-4,
    )
    # DropInConfidence = max(0, -change), ours divides it by p(x) (torchcam, the paper)
    drop = max(0.0, -peer_change)
    ours_drop = ours.average_drop * (ours.probability + 1e-7)
    drop_ok = abs(ours_drop - drop) <= 1e-4 + 1e-3 * ours.probability
    return Agreement(
        curves.corr,
        curves.max_diff,
        curves.scale,
        curves.ok and drop_ok,
        f"curves; drop in confidence ours {ours_drop:.4f} vs peer {drop:.4f}",
    )


def rows(image: str, steps: int, s: Settings, road: bool = True, m=None) -> list[Row]:
    m = m or load("efficientnet_lite0", s.device)
    x = m.preprocess(cw.load_image(image))
    a = cw.cam(m, x)
    cam = tie_free(a.map)
    theirs = peer_model(m, s)
    ours_fn = lambda: cw.faithfulness(m, x, cam, steps=steps, target=a.target)  # noqa: E731
    ours = ours_fn()
    # the floor: our images through the bare model, in the batches ours uses
    n_images = 2 * steps + 1
    batch = input_layout(x.repeat(n_images, 1, 1, 1), m)
    chunks = _chunks(n_images, auto_batch_size(m, with_grad=False, limit=64))
    fwd_fn = lambda: [floors.forward(m, batch[i:j]) for i, j in chunks]  # noqa: E731

    setting = f"{image}, Grad-CAM map, {steps} steps, sigma {ours.sigma:g}"
    out = []
    row = Row("deletion + insertion + average drop", m.name, setting, PEER)
    d, i, change = peer_scores(theirs, x, cam, a.target, steps, ours.sigma)
    row.agreement = agreement(ours, d, i, change)
    if not s.quick:
        t = time_interleaved(
            {
                "ours": ours_fn,
                "peer": lambda: peer_scores(theirs, x, cam, a.target, steps, ours.sigma),
                "fwd": fwd_fn,
            },
            device=s.device,
            min_rounds=s.min_rounds,
            max_rounds=s.max_rounds,
            budget_s=s.budget_s,
        )
        row.ours, row.peer, row.ratio, row.rounds = (
            t.median("ours"),
            t.median("peer"),
            t.ratio("ours", "peer"),
            t.rounds,
        )
        row.fwd, row.ours_fwd = t.median("fwd"), t.ratio("ours", "fwd")
        row.targets = [
            Target("ours/peer <= 0.5", row.ratio, 0.5),
            Target("ours/fwd <= 1.3", row.ours_fwd, 1.3),
        ]
    row.note = f"{n_images} images vs {2 * (steps + 1) + 2} batch-1 forwards"
    out.append(row)

    if road and not s.quick:
        road_row = Row("ROAD (MoRF + LeRF, 9 percentiles)", m.name, setting, PEER)
        t = time_interleaved(
            {"ours": ours_fn, "peer": lambda: peer_road(theirs, x, cam, a.target)},
            device=s.device,
            min_rounds=s.min_rounds,
            max_rounds=s.max_rounds,
            budget_s=s.budget_s,
        )
        road_row.ours, road_row.peer, road_row.ratio, road_row.rounds = (
            t.median("ours"),
            t.median("peer"),
            t.ratio("ours", "peer"),
            t.rounds,
        )
        road_row.note = "another imputation (sparse solves), so another number: timed only"
        out.append(road_row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.faithfulness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--images",
        default="cat,coffee",
        help="bundled photos, comma-separated (default cat,coffee; ROAD runs on the first)",
    )
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--budget", type=float, default=30.0, help="seconds of timing per row")
    ap.add_argument("--rounds", type=int, default=3, help="minimum timed rounds per row")
    ap.add_argument("--no-road", action="store_true", help="leave the ROAD row out")
    ap.add_argument("--quick", action="store_true", help="agreement only, no timing")
    ap.add_argument(
        "--peer-layout", choices=("pytorch", "ours"), default="pytorch", help="see common.py"
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    s = Settings(
        device=a.device,
        quick=a.quick,
        budget_s=a.budget,
        min_rounds=a.rounds,
        peer_layout=a.peer_layout,
    )
    print(machine(s), flush=True)
    m = load("efficientnet_lite0", s.device)
    out = []
    for k, image in enumerate(x.strip() for x in a.images.split(",")):
        out += rows(image, a.steps, s, road=not a.no_road and k == 0, m=m)
    print("\n" + markdown(out) + "\n\n" + summary(out))
    return 0 if all(r.ok for r in out) else 1


if __name__ == "__main__":
    sys.exit(main())
