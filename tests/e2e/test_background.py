"""The widgets that work in a background thread, in a real JupyterLab (one notebook, one
kernel): Start makes new pictures (or progress) arrive in the page, Stop ends them. The frame
rate of gradient ascent as the page shows it is recorded (never asserted)."""

from __future__ import annotations

import re
import time

import pytest

from .harness import fps, record, seconds

CELLS = [
    "import cnnwidgets as cw\n"
    "from cnnwidgets.data.digits import digits_datasets\n"
    "m = cw.load_model('efficientnet_lite0')",
    # Enough steps that the run cannot end on its own before we press Stop.
    "fv = cw.FeatureVisualizer(m, steps=2048)\nfv",
    # Small batches of an early layer: several batches (and a figure redraw) within seconds.
    "data = cw.datasets.sample_crops(2000, seed=0)\n"
    "sv = cw.SpectrumViewer(m, m.spatial_layers[8], data, channels=range(4), batch_size=8,\n"
    "                       autostart=False)\n"
    "sv",
    "train, val = digits_datasets(size=16)\n"
    "net = cw.load_model('simple_cnn', num_classes=10, in_channels=1, input_size=16, device='cpu')\n"
    "tm = cw.TrainingMonitor(net, train, val, epochs=50, batch_size=16, device='cpu')\n"
    "tm",
]
VIS, SPECTRUM, TRAINING = 1, 2, 3


@pytest.fixture(scope="module")
def notebook(module_lab):
    module_lab.open_notebook("background.ipynb", CELLS)
    return module_lab


def wait_for(predicate, timeout: float, what: str, lab):
    deadline = time.time() + seconds(timeout)
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    lab.fail(f"{what} within {timeout} s")


def test_feature_visualizer_start_stop(notebook):
    w = notebook.widget(VIS, kind="feature-visualizer")
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
    status = w.text("status")
    assert "step" in status, status
    notebook.screenshot(
        "feature-visualizer-running", notebook.cells().nth(VIS).locator(".jp-OutputArea")
    )

    w.click("stop")
    # `running` turns False after the final frame is sent, so once Start is enabled again every
    # frame is in the page; give the last one a moment to be decoded and painted.
    wait_for(
        lambda: w.control("start").is_enabled(),
        60,
        "Start was not enabled again after Stop",
        notebook,
    )
    w.frames(1)
    after = w.frames(3)
    assert after == [], f"{len(after)} new pictures arrived after Stop"
    assert w.control("stop").is_disabled()
    assert "stopped" in w.text("status"), w.text("status")
    w.screenshot("stopped")

    record(
        "test_feature_visualizer",
        {
            "frames_in_8s": len(frames),
            "fps": fps(frames),
            "frame_gaps_ms": [round(b["t"] - a["t"], 1) for a, b in zip(frames, frames[1:])],
            "status_while_running": status,
            "model": "efficientnet_lite0",
            "size": 128,
            "param": "decorrelated (default)",
        },
    )


def overlapping_tick_labels(lab, cell: int) -> list:
    """Pairs of tick labels of one axis (same baseline) in a cell's charts whose boxes overlap."""
    return (
        lab.cells()
        .nth(cell)
        .locator(".jp-OutputArea")
        .evaluate(
            """el => {
                const boxes = [...el.querySelectorAll('svg .tick text')]
                    .map(t => [t.textContent, t.getBoundingClientRect()])
                    .filter(([s, r]) => s && r.width > 0);
                const out = [];
                boxes.forEach(([a, ra], i) => boxes.slice(i + 1).forEach(([b, rb]) => {
                    if (Math.abs(ra.bottom - rb.bottom) < 2 && ra.left < rb.right
                        && rb.left < ra.right) out.push([a, b]);
                }));
                return {n: boxes.length, out};
            }"""
        )
    )


def test_feature_visualizer_errors_and_loss_axis(notebook):
    w = notebook.widget(VIS, kind="feature-visualizer")
    # After the run above the loss chart has a step axis: its labels do not run together.
    ticks = overlapping_tick_labels(notebook, VIS)
    assert ticks["n"] >= 4 and ticks["out"] == [], ticks

    # A layer the model lacks: the message names the closest few layers, not all 150.
    field = w.input_of("objective")
    field.fill("_blocks.3._project_cnv:1")
    field.press("Enter")
    text = w.wait_error()
    assert (
        "no layer '_blocks.3._project_cnv'" in text and "Closest: _blocks.3._project_conv" in text
    )
    assert len(text) < 400, text
    # Start stays in view under the banner; pressing it keeps the message and starts nothing.
    assert w.control("start").is_visible()
    w.click("start")
    time.sleep(seconds(3))
    assert w.error_text() == text, "Start hid the error message"
    assert w.control("start").is_enabled() and w.control("stop").is_disabled()
    w.screenshot("bad-objective")

    field.fill("")
    field.press("Enter")
    wait_for(lambda: w.error_text() == "", 30, "the error stayed after a valid objective", notebook)


def test_spectrum_viewer_scan_stop(notebook):
    w = notebook.widget(SPECTRUM)
    w.wait_painted()
    w.screenshot("ready")
    assert w.progress() == 0

    w.wait_quiet()
    w.click("start")
    # The progress bar moves and the figure is redrawn with the examples found so far.
    wait_for(lambda: w.progress() > 0, 120, "the scan's progress did not move", notebook)
    p1 = w.progress()
    frames = w.frames(6)
    assert w.progress() > p1, "the progress stopped moving while scanning"
    assert frames, "the figure was not redrawn while scanning"
    assert w.control("stop").is_enabled()
    w.screenshot("scanning")

    w.click("stop")
    wait_for(
        lambda: w.control("start").is_enabled(),
        60,
        "Scan was not enabled again after Stop",
        notebook,
    )
    w.wait_quiet(2)
    p_stop, sig = w.progress(), w.signature()
    time.sleep(3)
    assert w.progress() == p_stop < 1, "the scan went on after Stop"
    assert w.signature() == sig
    assert "stopped" in w.text("status"), w.text("status")

    # Browsing channels redraws the figure from what was collected.
    w.change("channel", lambda: w.press("channel", "ArrowUp"))
    w.screenshot("stopped-channel-1")

    # Scan again: the same data set is scanned afresh (the progress starts over), so the
    # examples hold every image once: the count is that of this scan, not added to the last.
    w.click("start")
    wait_for(
        lambda: w.text("status").startswith("scanned") and 0 < w.progress() < p_stop,
        120,
        "the second scan did not start over",
        notebook,
    )
    w.click("stop")
    wait_for(lambda: w.control("start").is_enabled(), 60, "Scan was not enabled again", notebook)
    final = w.text("status")
    m = re.fullmatch(r"stopped: ([\d,]+) images scanned", final)
    assert m, final
    assert int(m.group(1).replace(",", "")) == round(w.progress() * 2000), (final, w.progress())


def test_training_monitor_start_stop(notebook):
    w = notebook.widget(TRAINING, kind="training-monitor")
    w.control("figure").locator("summary").click()  # unfold the figure of the last run
    w.wait_painted()
    blank = w.signature()
    w.screenshot("ready")

    w.click("start")
    wait_for(lambda: w.progress() > 0, 120, "training progress did not move", notebook)
    p1 = w.progress()
    wait_for(lambda: w.progress() > p1, 60, "training progress stopped moving", notebook)
    assert w.control("stop").is_enabled()
    status = w.text("status")
    notebook.screenshot(
        "training-running", notebook.cells().nth(TRAINING).locator(".jp-OutputArea")
    )

    epoch_before = int(re.match(r"epoch (\d+)/50", w.text("status")).group(1))
    w.click("stop")
    wait_for(
        lambda: w.control("start").is_enabled(),
        60,
        "Start was not enabled again after Stop",
        notebook,
    )
    # The final status is where training got to, never an epoch back from what it showed.
    final = w.text("status")
    m = re.match(r"epoch (\d+)/50 · .* · stopped$", final)
    assert m and int(m.group(1)) >= epoch_before, (epoch_before, final)
    p_stop = w.progress()
    time.sleep(3)
    assert w.progress() == p_stop < 1, "training went on after Stop"
    # The figure of the run (the curves so far) replaces the empty one.
    wait_for(lambda: w.signature() != blank, 60, "the figure of the run did not appear", notebook)
    w.screenshot("stopped")
    record("test_training_monitor", {"status_while_running": status})
