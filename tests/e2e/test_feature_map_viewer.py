"""FeatureMapViewer in a real JupyterLab: layer, order and channel change the pictures; a
non-image upload shows an error and the widget stays usable."""
from __future__ import annotations

from .harness import median, record

CELLS = [
    "import cnnwidgets as cw\n"
    "m = cw.load_model('efficientnet_lite0')\n"
    "w = cw.FeatureMapViewer(m, 'cat')\n"
    "w",
]


def test_feature_map_viewer(lab):
    lab.open_notebook("feature_map_viewer.ipynb", CELLS)
    w = lab.widget(0)
    w.wait_painted()
    w.wait_painted(picture="detail")
    w.screenshot("shown")

    # Another layer: a new grid (a recompute of the activations).
    layers = w.options("layer")
    assert len(layers) > 2, layers
    here = w.selected_index("layer")
    first = w.png()
    c = w.change("layer", lambda: w.select("layer", index=(here + 3) % len(layers)))
    assert w.png() != first, "the grid looks the same after picking another layer"
    layer_ms = c.latency_ms
    w.screenshot("layer")

    # The channel slider with the keyboard (JupyterLab must not swallow the arrow key):
    # the enlarged channel changes, from the cached maps.
    channel_ms = []
    for step in range(3):
        v0 = int(w.value("channel"))
        c = w.change("channel", lambda: w.press("channel", "ArrowUp"), picture="detail")
        assert int(w.value("channel")) == v0 + 1
        channel_ms.append(c.latency_ms)
    assert str(int(w.value("channel"))) in w.control("caption").inner_text()
    w.screenshot("channel")

    # Sort order over the cached maps: the grid is re-laid out.
    order_ms = []
    for label in ["in order", "strongest first", "in order"]:
        c = w.change("order", lambda: w.select("order", label=label))
        order_ms.append(c.latency_ms)
    w.screenshot("order")

    # A text file is no image: a readable message, and the widget keeps working.
    w.upload("upload", "notes.txt", b"these are notes, not pixels", "text/plain")
    text = w.wait_error()
    assert "notes.txt" in text and "image" in text, text
    w.screenshot("upload-error")
    c = w.change("order", lambda: w.select("order", label="strongest first"))
    assert c.after != c.before

    record("test_feature_map_viewer", {
        "model": "efficientnet_lite0", "image": "cat (224 px)",
        "layer_change_ms": layer_ms,
        "channel_slider_ms": channel_ms, "channel_slider_median_ms": median(channel_ms),
        "order_change_ms": order_ms, "order_change_median_ms": median(order_ms),
        "note": "a few changes per test run; measure_latency.py repeats more",
    })
