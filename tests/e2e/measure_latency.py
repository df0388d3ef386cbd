"""Measures, in a real JupyterLab in headless Chromium, how long a control change takes to
show its new picture, and the frame rate of gradient ascent, as the user sees them.

    python tests/e2e/measure_latency.py [--repeats 10] [--seconds 15]

Timings are taken in the page (performance.now() at the input/change event, and at the
requestAnimationFrame that paints the new picture, see probe.js), on EfficientNet-Lite0 at
224 px with the bundled cat photo:

- cached feature-map change: FeatureMapViewer's channel slider (enlarged channel from the cached
  maps) and its sort order (the grid laid out again from the cached maps);
- Grad-CAM recompute: GradCAMViewer's target class and layer (each change computes a new map;
  the widget's debounce, 0.15 s, is part of what the user waits for and so is included);
- gradient ascent: FeatureVisualizer's new pictures per second while it runs (128 px, default
  parameterization), and the gaps between them.

Medians (and every sample) go to test-artifacts/e2e/latency.json under "measure_latency".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

CELLS = [
    "import cnnwidgets as cw\nm = cw.load_model('efficientnet_lite0')",
    "cw.FeatureMapViewer(m, 'cat')",
    "cw.GradCAMViewer(m, 'cat')",
    "cw.FeatureVisualizer(m, steps=100000)",
]
FEATURE_MAPS, GRADCAM, VISUALIZER = 1, 2, 3


def summary(samples: list[float]) -> dict:
    s = sorted(samples)
    return {
        "median_ms": round(harness.median(s), 1),
        "min_ms": round(s[0], 1),
        "max_ms": round(s[-1], 1),
        "n": len(s),
        "samples_ms": [round(x, 1) for x in samples],
    }


def machine() -> dict:
    chromium = ""
    try:
        chromium = subprocess.run(
            [harness.CHROMIUM, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "chromium": chromium,
        "note": "shared machine: other engineers' tests ran at the same time; timings are noisy",
    }


def measure(lab: harness.Lab, repeats: int, seconds: float) -> dict:
    lab.open_notebook("measure_latency.ipynb", CELLS)
    results: dict = {
        "model": "efficientnet_lite0",
        "image": "cat, 224 px",
        "repeats": repeats,
        "machine": machine(),
    }

    fm = lab.widget(FEATURE_MAPS)
    fm.wait_painted()
    fm.wait_painted(picture="detail")
    samples = []
    for i in range(repeats):
        # Up and down in turn: the channel stays near the start, every change is a new picture.
        key = "ArrowUp" if i % 2 == 0 else "ArrowDown"
        samples.append(
            fm.change("channel", lambda: fm.press("channel", key), picture="detail").latency_ms
        )
    results["feature_maps_channel_slider"] = summary(samples)
    samples = []
    for i in range(repeats):
        label = "in order" if i % 2 == 0 else "strongest first"
        samples.append(fm.change("order", lambda: fm.select("order", label=label)).latency_ms)
    results["feature_maps_sort_order"] = summary(samples)
    fm.screenshot("measured")
    print(
        "feature maps:",
        results["feature_maps_channel_slider"]["median_ms"],
        results["feature_maps_sort_order"]["median_ms"],
        flush=True,
    )

    cam = lab.widget(GRADCAM)
    cam.wait_painted()
    n_targets = len(cam.options("target"))
    samples = []
    for i in range(repeats):
        index = (i + 1) % n_targets
        samples.append(cam.change("target", lambda: cam.select("target", index=index)).latency_ms)
    results["gradcam_target_change"] = summary(samples)
    layers = cam.options("layer")
    here = cam.selected_index("layer")
    other = max(0, here - 3)
    samples = []
    for i in range(repeats):
        index = other if i % 2 == 0 else here
        samples.append(cam.change("layer", lambda: cam.select("layer", index=index)).latency_ms)
    results["gradcam_layer_change"] = summary(samples)
    results["gradcam_layers"] = [layers[here], layers[other]]
    cam.screenshot("measured")
    print(
        "grad-cam:",
        results["gradcam_target_change"]["median_ms"],
        results["gradcam_layer_change"]["median_ms"],
        flush=True,
    )

    fv = lab.widget(VISUALIZER)
    fv.wait_painted()
    fv.wait_quiet()
    fv.click("start")
    time.sleep(2)  # the first step builds the parameterization; time the steady state
    frames = fv.frames(seconds)
    status = fv.control("status").inner_text()
    fv.click("stop")
    fv.wait_quiet(2)
    gaps = [b["t"] - a["t"] for a, b in zip(frames, frames[1:])]
    results["feature_visualizer_fps"] = {
        "fps": round(harness.fps(frames), 2) if harness.fps(frames) else None,
        "frames": len(frames),
        "window_s": seconds,
        "median_gap_ms": round(harness.median(gaps), 1) if gaps else None,
        "status_at_end": status,
        "size": 128,
        "param": "decorrelated (default)",
    }
    fv.screenshot("measured")
    print("feature visualizer fps:", results["feature_visualizer_fps"]["fps"], flush=True)
    results["loadavg_at_end"] = os.getloadavg()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=15.0, help="gradient-ascent window")
    args = ap.parse_args()
    with harness.jupyterlab() as server, harness.chromium() as browser:
        lab = harness.Lab(browser, server, "measure_latency")
        try:
            results = measure(lab, args.repeats, args.seconds)
        finally:
            lab.close()
    harness.record("measure_latency", results)
    print(
        json.dumps(
            {
                k: (v.get("median_ms", v.get("fps")) if isinstance(v, dict) else v)
                for k, v in results.items()
                if k != "machine"
            },
            indent=2,
        )
    )
    print(f"written to {harness.artifact('latency.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
