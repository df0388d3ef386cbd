"""FeatureVisualizer in a real JupyterLab: Start runs gradient ascent and frames arrive in the
page, Stop ends it and the frames stop. The frame rate the page shows is recorded (never
asserted)."""
from __future__ import annotations

import pytest

from .harness import fps, record

CELLS = [
    "import cnnwidgets as cw\n"
    "m = cw.load_model('efficientnet_lite0')",
    # Enough steps that the run cannot end on its own before we press Stop.
    "fv = cw.FeatureVisualizer(m, steps=2048)\n"
    "fv",
]
VIS = 1


@pytest.fixture(scope="module")
def visualizer(module_lab):
    module_lab.open_notebook("feature_visualizer.ipynb", CELLS)
    return module_lab.widget(VIS)


def test_feature_visualizer_start_stop(visualizer):
    w = visualizer
    w.wait_painted()
    w.screenshot("ready")

    # Another channel by keyboard (the starting image is the same noise for every channel).
    w.press("channel", "ArrowUp")
    assert w.value("channel") == "1"

    w.wait_quiet()
    w.click("start")
    frames = w.frames(8)
    assert len(frames) >= 3, f"only {len(frames)} new pictures in 8 s of gradient ascent"
    assert w.control("start").is_disabled() and w.control("stop").is_enabled()
    status = w.control("status").inner_text() if w.has("status") else ""
    w.screenshot("running")

    w.click("stop")
    w.frames(2)  # the last frame (the image after the last step) may still be on its way
    after = w.frames(3)
    assert after == [], f"{len(after)} new pictures arrived after Stop"
    assert w.control("start").is_enabled() and w.control("stop").is_disabled()
    w.screenshot("stopped")

    record("test_feature_visualizer", {
        "frames_in_8s": len(frames), "fps": fps(frames),
        "frame_gaps_ms": [round(b["t"] - a["t"], 1) for a, b in zip(frames, frames[1:])],
        "status_while_running": status,
        "model": "efficientnet_lite0", "size": 128, "param": "decorrelated (default)",
    })
