"""The widgets in Jupyter Notebook 7 (the ``notebook`` package), not only in JupyterLab: a
notebook with three widgets opens at /notebooks/<path>, they render, a control of each changes
its picture, and each fits a 1280 x 720 screen, as in JupyterLab (test_viewers.py,
test_layout.py)."""

from __future__ import annotations

import pytest

from .harness import Lab, record
from .test_layout import SCREEN, displayed_box

CELLS = [
    "import cnnwidgets as cw\nm = cw.load_model('simple_cnn', input_size=64, device='cpu')",
    "cw.FeatureMapViewer(m, 'cat')",
    "cw.GradCAMViewer(m, 'cat')",
    "cw.ConvolutionExplorer()",
]
FEATURE_MAPS, GRADCAM, CONVOLUTION = 1, 2, 3


@pytest.fixture(scope="module")
def nb7(browser, notebook7_server):
    page = Lab(browser, notebook7_server, "notebook7", viewport=SCREEN)
    try:
        page.open_notebook("notebook7.ipynb", CELLS)
        yield page
    finally:
        page.close()
        notebook7_server.shutdown_kernels()


def test_it_is_notebook_7(nb7):
    assert "/notebooks/notebook7.ipynb" in nb7.page.url
    assert nb7.page.locator("#main-panel, .jp-NotebookPanel").count()
    # Notebook 7 has no JupyterLab workspaces or side panels around the notebook.
    assert "/lab" not in nb7.page.url


def test_feature_map_viewer(nb7):
    w = nb7.widget(FEATURE_MAPS)
    w.wait_painted()
    w.wait_painted(picture="detail")
    v0 = int(w.value("channel"))
    w.change("channel", lambda: w.press("channel", "ArrowUp"), picture="detail")
    assert int(w.value("channel")) == v0 + 1
    w.change("order", lambda: w.select("order", label="in order"))
    w.screenshot("notebook7")


def test_gradcam_viewer(nb7):
    w = nb7.widget(GRADCAM)
    w.wait_painted()
    alpha0 = float(w.value("alpha"))
    w.change("alpha", lambda: w.press("alpha", "ArrowUp"))
    assert float(w.value("alpha")) > alpha0
    w.change("target", lambda: w.select("target", index=1))
    w.screenshot("notebook7")


def test_convolution_explorer(nb7):
    w = nb7.widget(CONVOLUTION)
    w.wait_painted()
    w.change("stride", lambda: w.press("stride", "ArrowUp"))
    assert w.value("stride") == "2"
    w.screenshot("notebook7")


@pytest.mark.parametrize(
    "name,cell",
    [
        ("FeatureMapViewer", FEATURE_MAPS),
        ("GradCAMViewer", GRADCAM),
        ("ConvolutionExplorer", CONVOLUTION),
    ],
)
def test_fits_a_lecture_screen(nb7, name, cell):
    box = displayed_box(nb7, cell)
    record(f"notebook7_layout_{name}", {"px": [box["width"], box["height"]]})
    assert box["height"] <= SCREEN[1] and box["width"] <= SCREEN[0], (name, box)
