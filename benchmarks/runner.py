"""``python -m benchmarks``: every comparison, side by side in one process, as one table.

Each row runs ours, the peer and the floors on the same model, the same fixed input tensor and
the same settings, interleaved (see ``timing.py``), then checks that ours and the peer agree.
``--quick`` keeps only the agreement checks at tiny settings (the test suite runs it).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field

import torch

from . import cam_vs_grad_cam, saliency_vs_captum, spectrum_overhead
from .common import PEER_LAYOUTS, Settings, load
from .report import Row, markdown, summary

PARTS = ("cam", "saliency", "scorecam", "featureviz", "inversion", "spectrum")
MODELS = ("efficientnet_lite0", "resnet18", "googlenet")

# Score-CAM costs one forward pass per channel of its layer; the last spatial layers of these
# models have 320-1280 channels, so full Score-CAM runs take the last block with the fewest.
SCORECAM_LAYERS = {"efficientnet_lite0": "_blocks.15", "resnet18": "layer4"}


@dataclass
class Plan:
    """What to run. ``full()`` is the issue's list; ``quick()`` the same checks, tiny."""

    models: tuple = MODELS
    cam_batches: tuple = (1, 16)
    cam_methods: tuple = ("gradcam", "gradcam_plus_plus")
    cam_layer: dict = field(default_factory=dict)  # model -> layer (default: last spatial)
    saliency: dict = field(
        default_factory=lambda: {
            "gradient": {},
            "smoothgrad": {"n_samples": 25, "noise": 0.15},
            "integrated_gradients": {"steps": 50, "captum_method": "gausslegendre"},
        }
    )
    scorecam_layers: dict = field(default_factory=lambda: dict(SCORECAM_LAYERS))
    featureviz: dict = field(
        default_factory=lambda: {
            "model": "efficientnet_lite0",
            "channels": (1, 8),
            "steps": 32,
            "size": 128,
            "match_steps": 512,
        }
    )
    inversion: dict = field(
        default_factory=lambda: {
            "model": "efficientnet_lite0",
            "layer": "_blocks.6",
            "steps": 8,
            "size": 128,
        }
    )
    spectrum: dict = field(
        default_factory=lambda: {
            "model": "efficientnet_lite0",
            "layer": "_blocks.15._bn2",
            "channels": 32,
            "k": 9,
            "overhead_images": 128,
            "overhead_size": 224,
            "batch": 32,
            "memory_counts": (1000, 10000),
            "memory_size": 96,
            "memory_batch": 50,
        }
    )

    @classmethod
    def quick(cls) -> Plan:
        p = cls(models=("efficientnet_lite0",), cam_batches=(2,))
        p.saliency = {
            "gradient": {},
            "smoothgrad": {"n_samples": 4, "noise": 0.15},
            "integrated_gradients": {"steps": 8, "captum_method": "gausslegendre"},
        }
        p.scorecam_layers = {"efficientnet_lite0": "_blocks.2"}  # 24 channels: 24 forwards
        p.featureviz = {"model": "efficientnet_lite0", "channels": (2,), "steps": 3, "size": 64}
        p.spectrum = dict(
            p.spectrum, channels=4, overhead_images=8, overhead_size=96, batch=4, memory_counts=None
        )
        return p


def _guard(rows: list[Row], name: str, model: str, fn) -> None:
    """One failing row (an engine bug, a peer's exception) is reported, not fatal to the run."""
    try:
        out = fn()
        rows.extend(out if isinstance(out, list) else [out])
    except Exception as exc:
        traceback.print_exc()
        rows.append(Row(name, model, "-", note=f"ERROR {type(exc).__name__}: {exc}"[:300]))
    print(f"[{time.strftime('%H:%M:%S')}] {name} / {model}: done", file=sys.stderr, flush=True)


def featureviz_rows(plan: Plan, s: Settings) -> list[Row]:
    from . import featureviz_adapter

    return featureviz_adapter.rows(plan.featureviz, s)


def run(plan: Plan, s: Settings, parts=PARTS) -> list[Row]:
    rows: list[Row] = []
    models = {}

    def model(name):
        if name not in models:
            models[name] = load(name, s.device)
        return models[name]

    for name in plan.models:
        m = model(name)
        layer = plan.cam_layer.get(name) or m.default_cam_layer
        if "cam" in parts:
            for method in plan.cam_methods:
                for b in plan.cam_batches:
                    _guard(
                        rows,
                        f"{method} b{b}",
                        name,
                        lambda: cam_vs_grad_cam.run_case(m, layer, method, b, s),
                    )
        if "saliency" in parts:
            for method, p in plan.saliency.items():
                _guard(rows, method, name, lambda: saliency_vs_captum.run_case(m, method, p, s))
        if "scorecam" in parts and name in plan.scorecam_layers:
            _guard(
                rows,
                "scorecam",
                name,
                lambda: cam_vs_grad_cam.run_case(m, plan.scorecam_layers[name], "scorecam", 1, s),
            )
    # Feature visualization is left out of --quick: a few steps say nothing about whether the
    # objective reaches lucent's, and lucent's per-channel calls alone take minutes here.
    if "featureviz" in parts and not s.quick:
        _guard(rows, "featureviz", plan.featureviz["model"], lambda: featureviz_rows(plan, s))
    if "inversion" in parts and not s.quick:
        from . import featureviz_inversion

        _guard(
            rows,
            "inversion",
            plan.inversion["model"],
            lambda: featureviz_inversion.rows(plan.inversion, s),
        )
    if "spectrum" in parts:
        sp = plan.spectrum
        m = model(sp["model"])
        channels = list(range(sp["channels"]))
        _guard(
            rows,
            "spectrum overhead",
            sp["model"],
            lambda: spectrum_overhead.overhead_row(
                m,
                sp["layer"],
                channels,
                sp["k"],
                sp["overhead_images"],
                sp["batch"],
                sp["overhead_size"],
                s,
            ),
        )
        if sp.get("memory_counts") and not s.quick:
            _guard(
                rows,
                "spectrum memory",
                sp["model"],
                lambda: spectrum_overhead.memory_row(
                    m,
                    sp["layer"],
                    channels,
                    sp["k"],
                    sp["memory_counts"],
                    sp["memory_batch"],
                    sp["memory_size"],
                    s,
                ),
            )
    return rows


def machine(s: Settings) -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores visible",
        f"- torch {torch.__version__}, threads: {torch.get_num_threads()} intra-op, "
        f"{torch.get_num_interop_threads()} inter-op; Python {platform.python_version()}",
        f"- device: {s.device}"
        + (f" ({torch.cuda.get_device_name()})" if s.device.startswith("cuda") else ""),
        f"- peers' module layout: {s.peer_layout} (ours: channels-last on the CPU)",
        f"- load average at start: {', '.join(f'{v:.1f}' for v in os.getloadavg())}",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--quick", action="store_true", help="tiny settings, agreement checks only (< 1 min)"
    )
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    ap.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="torch intra-op threads, fixed for the whole run (default: all cores)",
    )
    ap.add_argument("--models", default=None, help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument(
        "--budget", type=float, default=30.0, help="seconds of timing per row (default 30)"
    )
    ap.add_argument(
        "--rounds", type=int, default=3, help="minimum timed rounds per row (default 3)"
    )
    ap.add_argument(
        "--steps", type=int, default=None, help="feature visualization steps (default 32)"
    )
    ap.add_argument(
        "--match-steps",
        type=int,
        default=None,
        help="lucent's steps per channel in the time-to-objective row (default 512, "
        "0 leaves the row out)",
    )
    ap.add_argument(
        "--spectrum-images",
        default=None,
        help="image counts of the two memory scans, e.g. 1000,10000",
    )
    ap.add_argument(
        "--spectrum-size", type=int, default=None, help="image side of the memory scans"
    )
    ap.add_argument(
        "--peer-layout",
        choices=PEER_LAYOUTS,
        default="pytorch",
        help="the peers' module: a copy in PyTorch's default NCHW layout, as "
        "torchvision builds it (default), or our channels-last module itself",
    )
    ap.add_argument(
        "--profile", action="store_true", help="print torch.profiler's top ops of our side"
    )
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    a = ap.parse_args(argv)

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda, but torch sees no CUDA device")
    torch.set_num_threads(a.threads)
    os.environ.setdefault("TQDM_DISABLE", "1")  # pytorch-grad-cam's Score-CAM progress bars
    s = Settings(
        device=a.device,
        quick=a.quick,
        budget_s=a.budget,
        min_rounds=a.rounds,
        profile=a.profile,
        peer_layout=a.peer_layout,
    )
    plan = Plan.quick() if a.quick else Plan()
    if a.models:
        plan.models = tuple(x.strip() for x in a.models.split(","))
    if a.steps:
        plan.featureviz["steps"] = a.steps
    if a.match_steps is not None:
        plan.featureviz["match_steps"] = a.match_steps
    if a.spectrum_images:
        plan.spectrum["memory_counts"] = tuple(int(v) for v in a.spectrum_images.split(","))
    if a.spectrum_size:
        plan.spectrum["memory_size"] = a.spectrum_size
    parts = tuple(x.strip() for x in a.only.split(",")) if a.only else PARTS
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")

    header = machine(s)
    print(header, flush=True)
    t0 = time.perf_counter()
    rows = run(plan, s, parts)
    elapsed = time.perf_counter() - t0
    table = markdown(rows)
    footer = (
        f"\n{'quick run (agreement only)' if s.quick else 'full run'}, {elapsed:.0f} s; "
        f"load average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    print("\n" + table + "\n" + footer + "\n" + summary(rows))
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(
                header + "\n\n" + table + "\n" + footer + "\n\n```\n" + summary(rows) + "\n```\n"
            )
    failed = [r for r in rows if not r.ok or r.note.startswith("ERROR")]
    return 1 if failed else 0
