"""Every widget fits a 1280 x 720 lecture screen: in a JupyterLab page of that size, each
widget's displayed box (with its charts, for the composite ones) is at most 720 px high and
1280 px wide, so a lecturer never scrolls inside one widget."""

from __future__ import annotations

import time

import pytest

from .harness import Lab, record, seconds

SCREEN = (1280, 720)

# One notebook with every widget as a student meets it (default arguments where they exist).
CELLS = [
    "import cnnwidgets as cw\n"
    "from cnnwidgets.data.digits import digits_datasets\n"
    "m = cw.load_model('efficientnet_lite0')",
    "cw.FilterViewer(m)",
    "cw.FeatureMapViewer(m, 'cat')",
    "cw.SaliencyViewer(m, 'cat')",
    "cw.GradCAMViewer(m, 'cat')",
    "cw.ConvolutionExplorer()",
    "cw.Explorer(m, 'cat')",
    "cw.FeatureVisualizer(m, steps=8)",
    # Scanned before it is shown: the figure at its full size, with every column filled.
    "sv = cw.SpectrumViewer(m, m.spatial_layers[8], cw.datasets.sample_crops(32, seed=0),\n"
    "                       channels=range(4), batch_size=8, autostart=False)\n"
    "sv.run()",
    "train, val = digits_datasets(size=16)\n"
    "net = cw.load_model('simple_cnn', num_classes=10, in_channels=1, input_size=16, device='cpu')\n"
    "cw.TrainingMonitor(net, train, val, epochs=2, batch_size=16, device='cpu')",
    "small = cw.load_model('simple_cnn', input_size=32, device='cpu')\n"
    "cw.ActivationGridViewer(small, 'cat', 'conv3.relu', groups=2, steps=8, size=32, max_cells=16)",
]
WIDGETS = {
    "FilterViewer": 1,
    "FeatureMapViewer": 2,
    "SaliencyViewer": 3,
    "GradCAMViewer": 4,
    "ConvolutionExplorer": 5,
    "Explorer": 6,
    "FeatureVisualizer": 7,
    "SpectrumViewer": 8,
    "TrainingMonitor": 9,
    "ActivationGridViewer": 10,
}


@pytest.fixture(scope="module")
def screen(browser, jupyter_server):
    lab = Lab(browser, jupyter_server, "layout", viewport=SCREEN)
    try:
        lab.open_notebook("layout.ipynb", CELLS)
        yield lab
    finally:
        lab.close()
        jupyter_server.shutdown_kernels()


def displayed_box(lab, cell: int, timeout: float = 240) -> dict:
    """The box of what cell `cell` displays: the widget, or the ipywidgets box holding a
    composite widget and its charts, once its pictures are loaded and its size has settled."""
    out = lab.cells().nth(cell).locator(".jp-OutputArea-output").first
    measure = """el => {
        const shown = el.querySelector('.widget-box, .widget-gridbox') || el.firstElementChild || el;
        const imgs = [...el.querySelectorAll('img')].filter(i => i.offsetParent !== null);
        const r = shown.getBoundingClientRect();
        return {width: Math.round(r.width), height: Math.round(r.height),
                scroll: shown.scrollWidth > shown.clientWidth + 1,
                widgets: el.querySelectorAll('[data-widget]').length,
                loaded: imgs.every(i => i.complete && i.naturalWidth > 0)};
    }"""
    deadline = time.time() + seconds(timeout)
    last = None
    while time.time() < deadline:
        box = out.evaluate(measure) if out.count() else None
        if box and box["widgets"] and box["loaded"] and box == last:
            return box
        last = box
        time.sleep(1)
    lab.fail(f"cell {cell} did not settle within {timeout} s: {last}")


@pytest.mark.parametrize("name", list(WIDGETS))
def test_widget_fits_a_lecture_screen(screen, name):
    cell = WIDGETS[name]
    box = displayed_box(screen, cell)
    screen.screenshot(
        f"layout-{name}", screen.cells().nth(cell).locator(".jp-OutputArea-output").first
    )
    record(f"layout_{name}", {"px": [box["width"], box["height"]], "screen": list(SCREEN)})
    assert box["height"] <= SCREEN[1] and box["width"] <= SCREEN[0], (
        f"{name} measures {box['width']} x {box['height']} px on a {SCREEN[0]} x {SCREEN[1]} screen"
    )
    assert not box["scroll"], f"{name} scrolls sideways inside its box"
