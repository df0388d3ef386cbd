"""ActivationGridViewer in a real JupyterLab: Start renders the grid, hover reads out the cell,
a click on a cell shows that cell's visualization, and the widget fits a lecture screen."""

from __future__ import annotations

import time

from .harness import record, seconds

# A small model keeps the renders to seconds: the teaching CNN at 32 px, its last ReLU (8 x 8
# positions pooled to 4 x 4 by max_cells), two groups, a few steps.
CELLS = [
    "import cnnwidgets as cw\nm = cw.load_model('simple_cnn', input_size=32, device='cpu')",
    "g = cw.ActivationGridViewer(m, 'cat', 'conv3.relu', groups=2, steps=8, size=32,\n"
    "                            max_cells=16)\ng",
]
GRID = 1


def wait_for(predicate, timeout: float, what: str, lab):
    deadline = time.time() + seconds(timeout)
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    lab.fail(f"{what} within {timeout} s")


def test_activation_grid_renders_and_a_click_shows_the_cell(lab):
    lab.open_notebook("activation_grid.ipynb", CELLS)
    w = lab.widget(GRID, kind="activation-grid-viewer")
    for picture in ("view", "mosaic", "detail", "groups", "strip"):
        w.wait_painted(picture=picture)
    assert "press Start" in w.text("status")
    assert w.text("cell") == "cell: row 2 · col 2"  # the centre of the 4 x 4 grid
    w.screenshot("ready")

    # Start: the renders replace the starting noise in the mosaic.
    noise = w.signature("mosaic")
    t0 = time.time()
    w.click("start")
    wait_for(lambda: w.text("status").startswith("done"), 240, "the renders did not end", lab)
    render_s = time.time() - t0
    w.wait_quiet(picture="mosaic")
    assert w.signature("mosaic") != noise, "the mosaic still shows the starting noise"
    assert w.progress() == 1.0
    w.screenshot("rendered")

    # Hover reads out the cell under the pointer.
    view = w.control("view")
    box = view.bounding_box()
    view.hover(position={"x": box["width"] * 0.1, "y": box["height"] * 0.9})
    wait_for(lambda: w.text("hover") == "pointer: row 3 · col 0", 10, "no hover readout", lab)

    # A click on another cell: the enlarged picture becomes that cell's visualization.
    c = w.change(
        "view",
        lambda: view.click(position={"x": box["width"] * 0.9, "y": box["height"] * 0.1}),
        picture="detail",
    )
    assert w.text("cell") == "cell: row 0 · col 3"
    assert "row 0, col 3" in w.text("caption")
    assert c.after != c.before
    w.screenshot("clicked")

    # A click on the mosaic chooses a cell too.
    mosaic = w.control("mosaic")
    mbox = mosaic.bounding_box()
    w.change(
        "mosaic",
        lambda: mosaic.click(position={"x": mbox["width"] * 0.4, "y": mbox["height"] * 0.6}),
        picture="detail",
    )
    assert w.text("cell") == "cell: row 2 · col 1"

    # The whole widget fits a 1280 x 720 lecture screen.
    root = w.root.bounding_box()  # the widget's own element (data-widget)
    assert root["width"] <= 1280 and root["height"] <= 720, root
    record(
        "test_activation_grid",
        {
            "render_s": render_s,
            "cell_click_ms": c.latency_ms,
            "widget_px": [root["width"], root["height"]],
        },
    )
