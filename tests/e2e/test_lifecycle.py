"""Long work and what outlives it, in a real JupyterLab: a recompute shows its progress and a
newer change cancels it; a re-run cell leaves no worker thread behind; a restarted kernel greys
the old views; a notebook reopened without its kernel still shows the pictures.

Each test has its own notebook and kernel (restarts and reloads would disturb a shared one).
"""

from __future__ import annotations

import re
import time

from .harness import seconds

SMALL = (
    "import cnnwidgets as cw, threading, time\n"
    "m = cw.load_model('simple_cnn', device='cpu')\n"
    "img = cw.load_image('cat')"
)
RESTARTED = "the kernel behind this view has restarted: run the cell again"


def wait_for(lab, predicate, timeout: float, what: str):
    deadline = time.time() + seconds(timeout)
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    lab.fail(f"{what} within {timeout} s")


def busy_state(w) -> dict:
    return w.root.evaluate(
        """el => {
            const wrap = el.querySelector('[data-testid=busy]');
            const bar = el.querySelector('[data-testid=busy_progress]');
            return {shown: !!wrap && !wrap.hidden,
                    value: bar && bar.hasAttribute('value') ? bar.value : null,
                    label: el.querySelector('[data-testid=busy_label]')?.textContent || ''};
        }"""
    )


def test_scorecam_shows_its_progress_and_a_class_change_cancels_it(lab):
    lab.open_notebook(
        "scorecam.ipynb",
        [
            "import cnnwidgets as cw\nm = cw.load_model('efficientnet_lite0', device='cpu')",
            "g = cw.GradCAMViewer(m, cw.load_image('cat'))\ng",
            "print('runs', g._recompute.completed, g._recompute.cancelled)\n"
            "print('caption', g.caption)",
        ],
    )
    w = lab.widget(1)
    w.wait_painted()
    classes = w.options("target")
    w.select("method", label="Score-CAM")

    # The bar appears over the picture, names the method, and fills (never going back).
    wait_for(
        lab,
        lambda: (s := busy_state(w))["shown"] and "Score-CAM" in s["label"],
        120,
        "no progress bar naming Score-CAM",
    )
    samples = []
    first = wait_for(
        lab,
        lambda: (s := busy_state(w))["value"] and samples.append(s["value"]) is None and s,
        300,
        "Score-CAM reported no progress",
    )
    w.screenshot("scorecam-progress")
    for _ in range(5):
        samples.append(busy_state(w)["value"] or samples[-1])
        time.sleep(0.3)
    assert samples == sorted(samples), samples
    assert first["value"] < 1, first

    # A class change while it runs: the stale run stops, the new class is computed once.
    w.select("target", label=classes[1])
    wait_for(
        lab,
        lambda: classes[1].split(" (")[0] in busy_state(w)["label"],
        60,
        "the bar did not name the new class",
    )
    wait_for(lab, lambda: not busy_state(w)["shown"], 600, "the recompute did not end")
    assert busy_state(w)["value"] == 1.0
    assert w.error_text() == ""
    lab.run_cell(2)
    out = lab.output_text(2)
    assert "runs 1 1" in out, out  # one finished (the new class), one cancelled
    assert "Score-CAM" in out and classes[1].split(" (")[0] in out, out


def test_a_rerun_cell_leaves_no_worker_thread_behind(lab):
    lab.open_notebook(
        "rerun.ipynb",
        [
            SMALL + "\nkeys = []",
            "fv = cw.FeatureVisualizer(m, steps=100000)\nkeys.append(fv._static_key[:8])\n"
            "fv.start()\nfv",
            "old = keys[0]\n"
            "def workers():\n"
            "    return sorted(t.name for t in threading.enumerate()\n"
            "                  if t.name.startswith('cnnwidgets-') and '-worker-' in t.name)\n"
            "end = time.time() + 60\n"
            "while any(old in n for n in workers()) and time.time() < end:\n"
            "    time.sleep(0.2)\n"
            "print('old', old, 'new', keys[-1])\nprint('workers', workers())",
        ],
        run=False,
    )
    lab.run_cell(0)
    lab.run_cell(1)
    w = lab.widget(1, kind="feature-visualizer")
    wait_for(lab, lambda: w.control("stop").is_enabled(), 120, "the visualization did not start")

    lab.run_cell(1)  # JupyterLab clears the output (the view goes) and runs the cell again
    w = lab.widget(1, kind="feature-visualizer")
    wait_for(lab, lambda: w.control("stop").is_enabled(), 120, "the new one did not start")
    lab.run_cell(2)
    out = lab.output_text(2)
    m = re.search(r"old (\w+) new (\w+)\nworkers (.*)", out)
    assert m, out
    old, new, workers = m.group(1), m.group(2), m.group(3)
    assert old != new
    assert old not in workers, out  # the old widget stopped when its view went
    assert new in workers, out  # the new one still runs: its view is on the page
    w.click("stop")


def test_a_kernel_restarted_from_jupyterlab_greys_the_old_view(lab):
    lab.open_notebook(
        "restart_here.ipynb",
        [SMALL, "fv = cw.FeatureVisualizer(m, steps=100000)\nfv.start()\nfv"],
    )
    w = lab.widget(1, kind="feature-visualizer")
    wait_for(lab, lambda: w.control("stop").is_enabled(), 120, "the visualization did not start")
    assert not w.control("kernel-status").is_visible()
    lab.restart_kernel_here()
    banner = w.control("kernel-status")
    wait_for(lab, banner.is_visible, 60, "no banner after the restart")
    assert banner.inner_text().strip() == RESTARTED
    for testid in ("stop", "start", "layer", "channel"):
        assert w.control(testid).is_disabled() or w.input_of(testid).is_disabled(), testid
    w.screenshot("after-restart")


def test_a_kernel_restarted_elsewhere_is_noticed_at_the_next_change(lab):
    lab.open_notebook("restart_elsewhere.ipynb", [SMALL, "g = cw.GradCAMViewer(m, img)\ng"])
    w = lab.widget(1)
    w.wait_painted()
    lab.restart_kernel_elsewhere()
    lab.wait_kernel_ready()
    assert not w.control("kernel-status").is_visible()  # the page was not told
    w.select("method", label="LayerCAM")
    banner = w.control("kernel-status")
    wait_for(lab, banner.is_visible, 60, "no banner after a change without a kernel")
    assert banner.inner_text().strip() == RESTARTED
    assert w.input_of("method").is_disabled() and w.input_of("layer").is_disabled()
    w.screenshot("restarted-elsewhere")


def static_picture(lab, cell: int) -> dict:
    return (
        lab.cells()
        .nth(cell)
        .evaluate(
            """c => {
            const s = c.querySelector('[data-cnnw-static]');
            const img = s && s.querySelector('img');
            const r = img && img.getBoundingClientRect();
            return {present: !!s, visible: !!(r && r.width > 0 && r.height > 0),
                    natural: img ? img.naturalWidth : 0,
                    caption: s ? s.textContent : '',
                    text: c.querySelector('.jp-OutputArea').innerText};
        }"""
        )
    )


def test_a_reopened_notebook_shows_the_last_pictures_without_its_kernel(lab):
    lab.open_notebook("reopen.ipynb", [SMALL, "g = cw.GradCAMViewer(m, img)\ng"])
    w = lab.widget(1)
    w.wait_painted()
    st = static_picture(lab, 1)
    assert st["present"] and not st["visible"], st  # the live view hides its picture
    w.change("method", lambda: w.select("method", label="LayerCAM"))
    wait_for(
        lab,
        lambda: "LayerCAM" in static_picture(lab, 1)["caption"],
        60,
        "the static picture did not follow the view",
    )
    lab.save()
    lab.server.shutdown_kernels()
    lab.reload()
    # ipywidgets looks for the model in the new kernel, gives up ("model not found") ...
    wait_for(
        lab,
        lambda: (
            lab.cells()
            .nth(1)
            .locator('.jp-OutputArea-output.jupyter-widgets:has-text("model not found")')
            .count()
        ),
        120,
        "the widget output did not settle",
    )
    # ... and the picture shows what the view showed last, with no error message beside it.
    st = static_picture(lab, 1)
    assert st["visible"] and st["natural"] > 0, st
    assert "LayerCAM" in st["caption"], st
    assert "model not found" not in st["text"], st["text"]
    lab.screenshot("reopened", lab.cells().nth(1))
