"""The picture viewers in a real JupyterLab, one notebook (one kernel) for all of them: each
control changes the picture it should, and a non-image upload shows an error while the widget
stays usable. Latencies of control change -> new picture are recorded, never asserted."""
from __future__ import annotations

import pytest

from .harness import median, record

# The model users see first (EfficientNet-Lite0 at 224 px) and the bundled cat photo.
CELLS = [
    "import cnnwidgets as cw\n"
    "m = cw.load_model('efficientnet_lite0')",
    "cw.FilterViewer(m)",
    "cw.FeatureMapViewer(m, 'cat')",
    "cw.SaliencyViewer(m, 'cat')",
    "cw.GradCAMViewer(m, 'cat')",
]
FILTERS, FEATURE_MAPS, SALIENCY, GRADCAM = 1, 2, 3, 4


@pytest.fixture(scope="module")
def viewers(module_lab):
    module_lab.open_notebook("viewers.ipynb", CELLS)
    return module_lab


def other_index(w, testid, step=1):
    n = len(w.options(testid))
    assert n > 1, f"{testid} offers {n} option(s)"
    return (w.selected_index(testid) + step) % n


def check_upload_error(w, fallback_control, fallback_action):
    """A text file is no image: a readable message naming it; the widget keeps working."""
    w.upload("upload", "notes.txt", b"these are notes, not pixels", "text/plain")
    text = w.wait_error()
    assert "notes.txt" in text and "image" in text, text
    w.screenshot("upload-error")
    c = w.change(fallback_control, fallback_action)
    assert c.after != c.before
    return text


def test_filter_viewer(viewers):
    w = viewers.widget(FILTERS)
    w.wait_painted()
    w.wait_painted(picture="detail")
    w.screenshot("shown")

    weights0 = w.control("weights").inner_text()
    c = w.change("filter", lambda: w.press("filter", "ArrowUp"), picture="detail")
    assert w.value("filter") == "1"
    assert w.control("weights").inner_text() != weights0, "the weights text did not follow the filter"

    first = w.png()
    layer = w.change("layer", lambda: w.select("layer", index=other_index(w, "layer", 2)))
    assert w.png() != first
    # Past the stem the filters read many channels: the summary mode changes the grid.
    w.change("mode", lambda: w.select("mode", label="mean over inputs"))
    w.screenshot("layer-mode")
    record("test_filter_viewer", {"filter_slider_ms": c.latency_ms, "layer_change_ms": layer.latency_ms})


def test_feature_map_viewer(viewers):
    w = viewers.widget(FEATURE_MAPS)
    w.wait_painted()
    w.wait_painted(picture="detail")
    w.screenshot("shown")

    first = w.png()
    c = w.change("layer", lambda: w.select("layer", index=other_index(w, "layer", 3)))
    assert w.png() != first, "the grid looks the same after picking another layer"
    layer_ms = c.latency_ms
    w.screenshot("layer")

    # The channel slider by keyboard: the enlarged channel changes, from the cached maps.
    channel_ms = []
    for _ in range(3):
        v0 = int(w.value("channel"))
        c = w.change("channel", lambda: w.press("channel", "ArrowUp"), picture="detail")
        assert int(w.value("channel")) == v0 + 1
        channel_ms.append(c.latency_ms)
    assert f"channel {w.value('channel')}" in w.control("caption").inner_text()
    w.screenshot("channel")

    # Sort order over the cached maps: the grid is laid out again.
    order_ms = [w.change("order", lambda: w.select("order", label=label)).latency_ms
                for label in ["in order", "strongest first", "in order"]]
    w.screenshot("order")

    check_upload_error(w, "order", lambda: w.select("order", label="strongest first"))
    record("test_feature_map_viewer", {
        "layer_change_ms": layer_ms,
        "channel_slider_ms": channel_ms, "channel_slider_median_ms": median(channel_ms),
        "order_change_ms": order_ms, "order_change_median_ms": median(order_ms),
    })


def test_saliency_viewer(viewers):
    w = viewers.widget(SALIENCY)
    w.wait_painted()
    w.screenshot("shown")

    target = w.change("target", lambda: w.select("target", index=1))
    assert "class" in w.control("caption").inner_text()
    method = w.change("method", lambda: w.select("method", label="gradient × input"))
    alpha0 = float(w.value("alpha"))
    w.change("alpha", lambda: w.press("alpha", "ArrowUp"))
    assert float(w.value("alpha")) > alpha0
    w.screenshot("target-method-alpha")

    check_upload_error(w, "target", lambda: w.select("target", index=0))
    record("test_saliency_viewer", {"target_change_ms": target.latency_ms,
                                    "method_change_ms": method.latency_ms})


def test_gradcam_viewer(viewers):
    w = viewers.widget(GRADCAM)
    w.wait_painted()
    w.screenshot("shown")
    top = w.selected("target")

    # Another class: Grad-CAM is recomputed for it (the caption names the class).
    target_ms = []
    for i in [1, 2, 0]:
        c = w.change("target", lambda: w.select("target", index=i))
        target_ms.append(c.latency_ms)
        label = w.selected("target").split(" (")[0]
        assert label in w.control("caption").inner_text()
    assert w.selected("target") == top
    w.screenshot("target")

    layer = w.change("layer", lambda: w.select("layer", index=other_index(w, "layer", -3)))
    method = w.change("method", lambda: w.select("method", index=other_index(w, "method")))
    alpha0 = float(w.value("alpha"))
    alpha = w.change("alpha", lambda: w.press("alpha", "ArrowUp"))
    assert float(w.value("alpha")) > alpha0
    w.screenshot("layer-method-alpha")

    check_upload_error(w, "target", lambda: w.select("target", index=1))
    record("test_gradcam_viewer", {
        "target_change_ms": target_ms, "target_change_median_ms": median(target_ms),
        "layer_change_ms": layer.latency_ms, "method_change_ms": method.latency_ms,
        "alpha_reblend_ms": alpha.latency_ms,
    })
