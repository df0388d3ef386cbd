"""The picture viewers in a real JupyterLab, one notebook (one kernel) for all of them: each
control changes the picture it should, and a non-image upload shows an error while the widget
stays usable. Latencies of control change -> new picture are recorded, never asserted."""

from __future__ import annotations

import base64
import re
import time

import pytest

from .harness import median, record, seconds


def photo_bytes(name: str = "coffee") -> bytes:
    """A real photo as a user would upload it: a JPEG file's bytes."""
    import io

    import cnnwidgets as cw

    buf = io.BytesIO()
    cw.load_image(name).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# The model users see first (EfficientNet-Lite0 at 224 px) and the bundled cat photo.
CELLS = [
    "import cnnwidgets as cw\nm = cw.load_model('efficientnet_lite0')",
    "cw.FilterViewer(m)",
    "cw.FeatureMapViewer(m, 'cat')",
    "cw.SaliencyViewer(m, 'cat')",
    "cw.GradCAMViewer(m, 'cat')",
    "cw.ConvolutionExplorer()",
    "cw.Explorer(m, 'cat')",
    # The digits model of notebook 01: one input channel.
    "digits = cw.load_model('simple_cnn', num_classes=10, in_channels=1, input_size=28,\n"
    "                       device='cpu')\n"
    "cw.FeatureMapViewer(digits, 'cat')",
]
FILTERS, FEATURE_MAPS, SALIENCY, GRADCAM, CONVOLUTION, EXPLORER, GRAYSCALE = 1, 2, 3, 4, 5, 6, 7


@pytest.fixture(scope="module")
def viewers(module_lab):
    module_lab.open_notebook("viewers.ipynb", CELLS)
    return module_lab


def drop_file(w, name: str, data: bytes, mime: str) -> None:
    """Drops a file on a widget as a user dragging it from the desktop does."""
    w.root.evaluate(
        """(el, [name, b64, mime]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: mime}));
            const zone = el.matches('[data-dropzone]') ? el : el.querySelector('[data-dropzone]');
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true,
                                                      cancelable: true}));
        }""",
        [name, base64.b64encode(data).decode(), mime],
    )


def wait_for_text(w, testid: str, text: str, lab, timeout: float = 120) -> None:
    deadline = time.time() + seconds(timeout)
    while time.time() < deadline:
        if text in w.text(testid):
            return
        time.sleep(0.3)
    lab.fail(f"{testid!r} never said {text!r}: {w.text(testid)!r}")


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
    assert w.control("weights").inner_text() != weights0, (
        "the weights text did not follow the filter"
    )

    first = w.png()
    layer = w.change("layer", lambda: w.select("layer", index=other_index(w, "layer", 2)))
    assert w.png() != first
    # Past the stem the filters read many channels: the summary mode changes the grid.
    w.change("mode", lambda: w.select("mode", label="mean over inputs"))
    w.screenshot("layer-mode")
    record(
        "test_filter_viewer",
        {"filter_slider_ms": c.latency_ms, "layer_change_ms": layer.latency_ms},
    )


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

    # The colormap reaches the enlarged channel and its legend, not only the grid.
    w.change("colormap", lambda: w.select("colormap", label="gray"), picture="detail")
    w.change("colormap", lambda: w.select("colormap", label="auto"), picture="detail")
    assert len(w.control("legend-labels").locator("span").all_inner_texts()) in (2, 3)

    # Hovering the enlarged channel reads out the value under the pointer, at the map's own
    # resolution (the caption says which): here the cell in column W // 3, row H // 4.
    rows, cols = (int(n) for n in re.search(r"(\d+)×(\d+)", w.text("caption")).groups())
    detail = w.control("detail")
    box = detail.bounding_box()
    col, row = cols // 3, rows // 4
    detail.hover(
        position={
            "x": box["width"] * (col + 0.5) / cols,
            "y": box["height"] * (row + 0.5) / rows,
        }
    )
    w.page.wait_for_function(
        "el => el.textContent.startsWith('activation at')",
        arg=w.control("detail-hover").element_handle(),
    )
    hover = w.text("detail-hover")
    assert re.fullmatch(rf"activation at x {col}, y {row}: -?[0-9.e+-]+", hover), hover
    w.screenshot("hover")

    # Sort order over the cached maps: the grid is laid out again.
    order_ms = [
        w.change("order", lambda: w.select("order", label=label)).latency_ms
        for label in ["in order", "strongest first", "in order"]
    ]
    w.screenshot("order")

    check_upload_error(w, "order", lambda: w.select("order", label="strongest first"))
    record(
        "test_feature_map_viewer",
        {
            "layer_change_ms": layer_ms,
            "channel_slider_ms": channel_ms,
            "channel_slider_median_ms": median(channel_ms),
            "order_change_ms": order_ms,
            "order_change_median_ms": median(order_ms),
        },
    )


def test_saliency_viewer(viewers):
    w = viewers.widget(SALIENCY)
    w.wait_painted()
    w.screenshot("shown")

    # Each method shows its own parameters, and only those.
    def params():
        return sorted(
            e.get_attribute("data-testid")
            for e in w.root.locator('[data-testid^="param-"]:visible').all()
            if not e.get_attribute("data-testid").endswith("-value")
        )

    w.change("method", lambda: w.select("method", label="SmoothGrad"))
    assert {"param-n_samples", "param-noise"} <= set(params()), params()
    w.screenshot("smoothgrad-params")
    w.change("method", lambda: w.select("method", label="Integrated Gradients"))
    assert "param-steps" in params() and "param-noise" not in params(), params()
    w.change("method", lambda: w.select("method", label="gradient"))
    assert params() == [], params()

    target = w.change("target", lambda: w.select("target", index=1))
    assert "class" in w.control("caption").inner_text()
    method = w.change("method", lambda: w.select("method", label="gradient × input"))
    alpha0 = float(w.value("alpha"))
    w.change("alpha", lambda: w.press("alpha", "ArrowUp"))
    assert float(w.value("alpha")) > alpha0
    w.screenshot("target-method-alpha")

    check_upload_error(w, "target", lambda: w.select("target", index=0))
    record(
        "test_saliency_viewer",
        {"target_change_ms": target.latency_ms, "method_change_ms": method.latency_ms},
    )


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
    record(
        "test_gradcam_viewer",
        {
            "target_change_ms": target_ms,
            "target_change_median_ms": median(target_ms),
            "layer_change_ms": layer.latency_ms,
            "method_change_ms": method.latency_ms,
            "alpha_reblend_ms": alpha.latency_ms,
        },
    )


def test_convolution_explorer(viewers):
    w = viewers.widget(CONVOLUTION)
    w.wait_painted()
    w.wait_painted(picture="input_view")
    w.screenshot("shown")

    kernel = w.change(
        "kernel_name", lambda: w.select("kernel_name", index=other_index(w, "kernel_name"))
    )
    formula = w.text("formula")
    stride = w.change("stride", lambda: w.press("stride", "ArrowUp"))
    assert w.value("stride") == "2"
    assert w.text("formula") != formula, "the output-size formula did not follow the stride"

    # Stepping to the next output cell writes out that cell's sum.
    equation = w.text("equation")
    position = int(w.value("position"))
    w.click("next")
    w.page.wait_for_function(
        "([el, p]) => Number(el.value) === p",
        arg=[w.input_of("position").element_handle(), position + 1],
    )
    w.page.wait_for_function(
        "([el, t]) => el.innerText.trim() !== t",
        arg=[w.control("equation").element_handle(), equation],
    )

    # Editing one weight of the kernel recomputes the output.
    cell = w.control("kernel-0-0")
    edit = w.change("kernel-0-0", lambda: (cell.fill("5"), cell.press("Enter")))
    w.screenshot("kernel-stride-step")

    # The Size slider sizes the numbers grid too (7 x 7 to start with): a row and a column more.
    assert w.value("size") == "7"
    w.change("size", lambda: w.press("size", "ArrowUp"), picture="input_view")
    assert w.value("size") == "8" and "(8 + " in w.text("formula"), w.text("formula")

    check_upload_error(w, "stride", lambda: w.press("stride", "ArrowDown"))
    record(
        "test_convolution_explorer",
        {
            "kernel_change_ms": kernel.latency_ms,
            "stride_change_ms": stride.latency_ms,
            "weight_edit_ms": edit.latency_ms,
        },
    )


def test_a_grayscale_models_photo_shows(viewers):
    w = viewers.widget(GRAYSCALE)
    w.wait_painted(picture="photo")
    photo = w.control("photo")
    size = photo.evaluate("el => [el.naturalWidth, el.naturalHeight, el.dataset.mime]")
    assert size == [28, 28, "image/jpeg"], size  # decoded: no broken-image icon
    assert w.error_text() == ""


def test_explorer(viewers):
    header = viewers.widget(EXPLORER, kind="explorer")
    cam = viewers.widget(EXPLORER, kind="gradcam-viewer")
    maps = viewers.widget(EXPLORER, kind="feature-map-viewer")
    for w in (header, cam, maps):
        w.wait_painted()
    header.screenshot("shown")
    assert "cat" in header.text("predictions")

    # The shared layer picker drives the Grad-CAM and the feature maps together.
    maps_before = maps.signature()
    c = header.change(
        "layer", lambda: header.select("layer", index=other_index(header, "layer", -2)), watch=cam
    )
    layer_ms = c.latency_ms
    maps.wait_quiet()
    assert cam.selected("layer") == header.selected("layer") == maps.selected("layer")
    assert maps.signature() != maps_before, "the feature maps did not follow the shared layer"
    # Both parts recompute at once on the one model: neither may report a failure.
    assert (cam.error_text(), maps.error_text()) == ("", "")

    # A photo uploaded in the header reaches every part: new predictions, a new map.
    cam_before = cam.signature()
    c = header.change(
        "upload", lambda: header.upload("upload", "coffee.jpg", photo_bytes(), "image/jpeg")
    )
    cam.wait_quiet(2)
    assert "espresso" in header.text("predictions"), header.text("predictions")
    assert cam.signature() != cam_before, "the Grad-CAM view did not follow the uploaded photo"
    assert (cam.error_text(), maps.error_text()) == ("", "")
    viewers.screenshot("explorer-uploaded", viewers.cells().nth(EXPLORER).locator(".jp-OutputArea"))

    # One dashboard, one upload control and one photo: the header's.
    out = viewers.cells().nth(EXPLORER).locator(".jp-OutputArea")
    assert out.locator('[data-testid="upload"]:visible').count() == 1
    assert out.locator('[data-testid="photo"]:visible').count() == 0
    # A photo dropped on a part goes to the whole dashboard, the header included.
    sal = viewers.widget(EXPLORER, kind="saliency-viewer")
    cam_before, sal_before = cam.signature(), sal.signature()
    drop_file(sal, "cat.jpg", photo_bytes("cat"), "image/jpeg")
    wait_for_text(header, "predictions", "cat", viewers)
    # The parts recompute off the kernel's thread: their new pictures come after the header's.
    for part, before in ((cam, cam_before), (sal, sal_before)):
        deadline = time.time() + seconds(120)
        while part.signature() == before and time.time() < deadline:
            time.sleep(0.3)
        assert part.signature() != before, "a part did not follow the dropped photo"
        part.wait_quiet()
    assert (header.error_text(), cam.error_text(), sal.error_text(), maps.error_text()) == (
        ("",) * 4
    )

    header.upload("upload", "notes.txt", b"these are notes, not pixels", "text/plain")
    text = header.wait_error()
    assert "notes.txt" in text, text
    header.screenshot("upload-error")
    record(
        "test_explorer",
        {"shared_layer_to_gradcam_ms": layer_ms, "upload_photo_to_header_ms": c.latency_ms},
    )
